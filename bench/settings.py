"""Bench settings, read from the environment so `make bench` and CI can scale a run without flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTENDERS = (
    "passthrough",
    "processor",
    "quixstreams",
    "mapping_only",
    "mapping_only_no_privacy",
    "mapping_only_minimal",
    "processor_eos",
    "quixstreams_eos",
    "processor_avro",
)
# mapping_only runs with the worker's default privacy policy; these two beside it measure the pass
PRIVACY_OF = {
    "mapping_only": "instructure",
    "mapping_only_no_privacy": "none",
    "mapping_only_minimal": "minimal",
}
BENCH_PRIVACY_KEY = "bench-only-privacy-key-not-a-secret"
EOS_ENV = {"CALIPER_PROCESSOR_GUARANTEE": "exactly-once"}


def avro_env(registry_url: str) -> dict[str, str]:
    """The worker with Avro output (Confluent wire format), registering its schema at start-up."""
    return {"CALIPER_TOPICS_FORMAT": "avro", "CALIPER_SCHEMA_REGISTRY_URL": registry_url}


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = int(raw.replace("_", ""))
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class BenchSettings:
    """Everything one bench run needs; `from_env` documents the variables."""

    bootstrap: str = "127.0.0.1:9092"
    events: int = 500_000
    partitions: int = 6
    repeats: int = 3
    seed: int = 20260907
    report_path: Path = REPO / "bench-results" / "report.json"
    results_dir: Path = REPO / "bench-results"
    latency_rate: int = 2_000
    latency_seconds: int = 30
    contenders: tuple[str, ...] = CONTENDERS
    quix_python: Path | None = None
    worker_command: tuple[str, ...] = field(default_factory=tuple)
    keep_topics: bool = False
    latency: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> BenchSettings:
        """BENCH_EVENTS, BENCH_PARTITIONS, BENCH_REPEATS, BENCH_SEED, BENCH_REPORT, BENCH_RESULTS_DIR,
        BENCH_LATENCY_RATE, BENCH_LATENCY_SECONDS, BENCH_CONTENDERS (comma list), BENCH_QUIX_PYTHON
        (the interpreter of the Quix Streams virtualenv), BENCH_KEEP_TOPICS=1, BENCH_LATENCY=0 (skip the
        latency phase), BENCH_SCHEMA_REGISTRY_URL (processor_avro's registry; else the local one is started),
        BENCH_KAFKA_DATA_DIR (the broker's data dir, for output sizes; found for the local broker),
        KAFKA_BOOTSTRAP_SERVERS."""
        env = dict(os.environ if env is None else env)
        results = Path(env.get("BENCH_RESULTS_DIR") or REPO / "bench-results")
        report = Path(env.get("BENCH_REPORT") or results / "report.json")
        names = tuple(n.strip() for n in env.get("BENCH_CONTENDERS", "").split(",") if n.strip())
        unknown = set(names) - set(CONTENDERS)
        if unknown:
            raise ValueError(
                f"BENCH_CONTENDERS names unknown contenders {sorted(unknown)}; know {CONTENDERS}"
            )
        quix = env.get("BENCH_QUIX_PYTHON") or ""
        venv = REPO / "bench-results" / "quix-venv"
        if not quix and (venv / ".ready").exists():  # made whole by `make bench`
            quix = str(venv / "bin" / "python")
        worker = REPO / ".venv" / "bin" / "caliper-processor"
        return cls(
            bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:9092",
            events=_int(env, "BENCH_EVENTS", 500_000),
            partitions=_int(env, "BENCH_PARTITIONS", 6),
            repeats=_int(env, "BENCH_REPEATS", 3),
            seed=_int(env, "BENCH_SEED", 20260907),
            report_path=report,
            results_dir=results,
            latency_rate=_int(env, "BENCH_LATENCY_RATE", 2_000),
            latency_seconds=_int(env, "BENCH_LATENCY_SECONDS", 30),
            contenders=names or CONTENDERS,
            quix_python=Path(quix) if quix and Path(quix).exists() else None,
            worker_command=(str(worker) if worker.exists() else "caliper-processor",),
            keep_topics=env.get("BENCH_KEEP_TOPICS", "") in ("1", "true", "yes"),
            latency=env.get("BENCH_LATENCY", "1") not in ("0", "false", "no"),
        )
