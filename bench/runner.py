"""`make bench`: load the input once, run each contender BENCH_REPEATS times, measure latency, report.

Contenders run one at a time, round-robin over the repeats (so a slow drift of the machine spreads
over all of them), each in a fresh process with a fresh consumer group and fresh output topics.
Throughput = input events / (last output log-append time - first output log-append time): the
broker's clock, the same window rule for every Kafka contender, start-up and group join excluded.
"""

from __future__ import annotations

import collections
import contextlib
import os
import platform
import sys
import time
import uuid
from functools import partial
from importlib import metadata
from pathlib import Path

import orjson

from bench import chart, kafka_io, latency
from bench.generator import EventGenerator, mix_weights
from bench.jobs import JobTopics, worker_env
from bench.measure import ChildRun, run_child
from bench.report import markdown, output_sizes, summarize, targets
from bench.schema_registry import registry
from bench.settings import EOS_ENV, PRIVACY_OF, REPO, BenchSettings, avro_env
from bench.templates import build_templates, load_samples

# A contender that has not drained the input in this many seconds per 1,000 events has stalled.
TIMEOUT_S_PER_1K = 3.0
MIN_TIMEOUT_S = 120


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _timeout(events: int) -> float:
    return max(MIN_TIMEOUT_S, events / 1000 * TIMEOUT_S_PER_1K)


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def _kafka_result(
    name: str, run: ChildRun, settings: BenchSettings, outputs: list[str], group: str, input_topic: str
) -> dict:
    """Measure a finished Kafka contender from the broker's side, and check it did the whole job."""
    result: dict = {
        "wall_s": round(run.wall_s, 3),
        "cpu_s": round(run.cpu_s, 3),
        "cpu_s_per_1k_events": round(run.cpu_s / settings.events * 1000, 4),
        "rss_mb": round(run.maxrss_mb, 1),
        "returncode": run.returncode,
    }
    if run.returncode != 0 or run.timed_out:
        why = "timed out" if run.timed_out else f"exit status {run.returncode}"
        result["error"] = f"{name} {why}; log {run.log_path}: {run.log_tail(5)}"
        return result
    if not kafka_io.settle(settings.bootstrap, outputs):
        result["error"] = f"{name} left a transaction open on its outputs"
        return result
    span = kafka_io.append_span(settings.bootstrap, outputs)
    records = span.records if span else 0
    result["output_records"] = records
    result["committed"] = round(kafka_io.committed_fraction(settings.bootstrap, group, input_topic), 4)
    if records < settings.events or span is None:
        result["error"] = f"{name} wrote {records} records for {settings.events} inputs"
        return result
    if result["committed"] < 1.0:
        result["error"] = f"{name} committed only {result['committed']:.1%} of its input"
        return result
    result["span_s"] = span.seconds
    result["events_per_s"] = round(settings.events / span.seconds, 1)
    return result


def run_passthrough(settings: BenchSettings, input_topic: str, tag: str, logs: Path) -> dict:
    out = f"{tag}.out"
    kafka_io.create_topics(settings.bootstrap, [out], settings.partitions)
    try:
        cmd = [sys.executable, "-m", "bench.contenders.passthrough", "--bootstrap", settings.bootstrap]
        cmd += ["--input", input_topic, "--output", out, "--group", f"{tag}.group"]
        cmd += ["--expected", str(settings.events)]
        run = run_child(
            cmd, env=python_env(), log_path=logs / f"{tag}.log", timeout=_timeout(settings.events)
        )
        return _kafka_result("passthrough", run, settings, [out], f"{tag}.group", input_topic)
    finally:
        if not settings.keep_topics:
            kafka_io.delete_topics(settings.bootstrap, [out])


def run_processor(
    settings: BenchSettings,
    input_topic: str,
    tag: str,
    logs: Path,
    extra_env: dict[str, str] | None = None,
    name: str = "processor",
) -> dict:
    """The real worker; `extra_env` tunes it (e.g. CALIPER_PRODUCER_LINGER_MS, the guarantee)."""
    topics = JobTopics(input=input_topic, prefix=tag)
    kafka_io.create_topics(settings.bootstrap, topics.outputs, settings.partitions)
    try:
        env = {**worker_env(settings.bootstrap, topics, f"{tag}.group", 0), **(extra_env or {})}
        cmd = [*settings.worker_command, "run", "--exit-when-drained"]
        run = run_child(cmd, env=env, log_path=logs / f"{tag}.log", timeout=_timeout(settings.events))
        result = _kafka_result(name, run, settings, topics.outputs, f"{tag}.group", input_topic)
        data_dir = kafka_io.log_dir(settings.bootstrap, dict(os.environ))
        if data_dir is not None and "error" not in result:
            envelopes = [t for t in topics.outputs if t not in (topics.dlq, topics.unmapped)]
            size = kafka_io.log_bytes(data_dir, envelopes)
            result["output_bytes_per_1k_events"] = round(size / settings.events * 1000)
        return result
    finally:
        if not settings.keep_topics:
            kafka_io.delete_topics(settings.bootstrap, topics.outputs)


def run_quixstreams(
    settings: BenchSettings, input_topic: str, tag: str, logs: Path, guarantee: str = "at-least-once"
) -> dict:
    if settings.quix_python is None:
        return {"skipped": "no Quix Streams virtualenv (make bench creates bench-results/quix-venv)"}
    topics = JobTopics(input=input_topic, prefix=tag)
    kafka_io.create_topics(settings.bootstrap, topics.outputs, settings.partitions)
    try:
        cmd = [
            str(settings.quix_python),
            "-m",
            "bench.contenders.quix_app",
            "--bootstrap",
            settings.bootstrap,
        ]
        cmd += ["--input", input_topic, "--output-template", topics.template, "--dlq", topics.dlq]
        cmd += ["--unmapped", topics.unmapped, "--group", f"{tag}.group", "--expected", str(settings.events)]
        cmd += ["--guarantee", guarantee]
        run = run_child(
            cmd, env=python_env(), log_path=logs / f"{tag}.log", timeout=_timeout(settings.events)
        )
        name = "quixstreams" if guarantee == "at-least-once" else "quixstreams_eos"
        return _kafka_result(name, run, settings, topics.outputs, f"{tag}.group", input_topic)
    finally:
        if not settings.keep_topics:
            kafka_io.delete_topics(settings.bootstrap, topics.outputs)


def run_mapping_only(
    settings: BenchSettings, samples: Path | None, tag: str, logs: Path, privacy: str = "instructure"
) -> dict:
    cmd = [sys.executable, "-m", "bench.contenders.mapping_only", "--events", str(settings.events)]
    cmd += ["--seed", str(settings.seed), "--privacy-preset", privacy]
    if samples is not None:
        cmd += ["--samples", str(samples)]
    run = run_child(cmd, env=python_env(), log_path=logs / f"{tag}.log", timeout=_timeout(settings.events))
    result: dict = {
        "wall_s": round(run.wall_s, 3),
        "rss_mb": round(run.maxrss_mb, 1),
        "returncode": run.returncode,
    }
    if run.returncode != 0:
        result["error"] = f"mapping_only exit status {run.returncode}: {run.log_tail(5)}"
        return result
    inner = orjson.loads(run.stdout.strip().splitlines()[-1])
    result.update(
        {
            "events_per_s": round(inner["events_per_s"], 1),
            "cpu_s_per_1k_events": round(inner["cpu_s_per_1k_events"], 4),
            "mapping_errors": inner["errors"],
            "loop_s": round(inner["seconds"], 3),
        }
    )
    return result


def load_input(settings: BenchSettings, generator: EventGenerator, input_topic: str) -> dict:
    """Load BENCH_EVENTS events into the input topic (before any contender runs); what was loaded."""
    mix: collections.Counter[str] = collections.Counter()

    def counted():
        for event in generator.events(settings.events):
            mix[event.event_name] += 1
            yield event

    loaded = kafka_io.load(settings.bootstrap, input_topic, counted())
    log(f"loaded {loaded['events']:,} events ({loaded['bytes'] / 1e6:.0f} MB) in {loaded['seconds']:.1f} s")
    return {
        "topic": input_topic,
        **{k: round(v, 1) if isinstance(v, float) else v for k, v in loaded.items()},
        "mean_event_bytes": round(loaded["bytes"] / max(1, loaded["events"]), 1),
        "event_names": len(generator.templates),
        "mix": {name: round(n / settings.events, 4) for name, n in mix.most_common()},
        "target_mix": {k: round(v, 4) for k, v in mix_weights(sorted(generator.templates)).items()},
    }


def _versions() -> dict:
    out = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1m_at_start": os.getloadavg()[0],
    }
    for dist in ("confluent-kafka", "orjson"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def run(settings: BenchSettings, samples: Path | None = None) -> dict:
    started = time.monotonic()
    run_id = f"bench-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    logs = settings.results_dir / "logs" / run_id
    templates = build_templates(load_samples(samples))
    generator = EventGenerator(templates, settings.seed)
    input_topic = f"{run_id}.input"
    log(f"run {run_id}: {settings.events:,} events over {settings.partitions} partitions into {input_topic}")
    kafka_io.create_topics(settings.bootstrap, [input_topic], settings.partitions)
    report: dict = {
        "events": settings.events,
        "partitions": settings.partitions,
        "repeats": settings.repeats,
        "run_id": run_id,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": _versions(),
    }
    stack = contextlib.ExitStack()
    try:
        report["input"] = load_input(settings, generator, input_topic)
        avro_url = stack.enter_context(registry()) if "processor_avro" in settings.contenders else ""
        runners = {
            "passthrough": lambda tag: run_passthrough(settings, input_topic, tag, logs),
            "processor": lambda tag: run_processor(settings, input_topic, tag, logs),
            "quixstreams": lambda tag: run_quixstreams(settings, input_topic, tag, logs),
            **{
                name: partial(run_mapping_only, settings, samples, logs=logs, privacy=preset)
                for name, preset in PRIVACY_OF.items()
            },
            "processor_eos": lambda tag: run_processor(
                settings, input_topic, tag, logs, EOS_ENV, name="processor_eos"
            ),
            "quixstreams_eos": lambda tag: run_quixstreams(settings, input_topic, tag, logs, "exactly-once"),
            "processor_avro": lambda tag: run_processor(
                settings, input_topic, tag, logs, avro_env(avro_url), name="processor_avro"
            ),
        }
        runs: dict[str, list[dict]] = {name: [] for name in settings.contenders}
        skipped: dict[str, str] = {}
        for repeat in range(1, settings.repeats + 1):
            for name in settings.contenders:
                if name in skipped:
                    continue
                tag = f"{run_id}.{name}.{repeat}"
                t0 = time.monotonic()
                result = runners[name](tag)
                result["loadavg_1m"] = round(os.getloadavg()[0], 2)  # how busy the machine was
                if "skipped" in result:
                    skipped[name] = result["skipped"]
                    log(f"{name}: skipped ({result['skipped']})")
                    continue
                runs[name].append(result)
                rate = result.get("events_per_s")
                shown = f"{rate:,.0f} events/s" if rate else f"FAILED: {result.get('error')}"
                log(f"{name} run {repeat}/{settings.repeats}: {shown} ({time.monotonic() - t0:.0f} s)")
        for name in settings.contenders:
            report[name] = (
                {"skipped": skipped[name], "events_per_s": None} if name in skipped else summarize(runs[name])
            )
    finally:
        stack.close()
        if not settings.keep_topics:
            kafka_io.delete_topics(settings.bootstrap, [input_topic])

    for name, extra in (("processor", None), ("processor_eos", EOS_ENV)):
        if name in settings.contenders and settings.latency:
            lat = measure_latency(settings, templates, run_id, logs, name, extra)
            report["latency" if name == "processor" else "latency_eos"] = lat
            proc = report.setdefault(name, {"events_per_s": None})
            # exactly-once: what a read_committed consumer sees (an envelope is readable at commit)
            visible = name == "processor_eos"
            proc["p50_ms"] = lat.get("visible_p50_ms" if visible else "p50_ms")
            proc["p99_ms"] = lat.get("visible_p99_ms" if visible else "p99_ms")
    sizes = output_sizes(report)
    if sizes:
        report["output_sizes"] = sizes
    report["targets"] = [t.as_dict() for t in targets(report)]
    report["duration_s"] = round(time.monotonic() - started, 1)
    report["machine"]["loadavg_1m_at_end"] = os.getloadavg()[0]
    return report


def measure_latency(
    settings: BenchSettings,
    templates: dict,
    run_id: str,
    logs: Path,
    name: str,
    extra_env: dict[str, str] | None,
) -> dict:
    """End-to-end latency of the worker (one guarantee) at the offered rate."""
    log(f"latency ({name}): {settings.latency_rate:,} events/s for {settings.latency_seconds} s")
    try:
        return latency.measure(
            bootstrap=settings.bootstrap,
            worker_command=settings.worker_command,
            templates=templates,
            seed=settings.seed + 1,
            partitions=settings.partitions,
            rate=settings.latency_rate,
            seconds=settings.latency_seconds,
            prefix=f"{run_id}.{name}.latency",
            log_path=logs / f"{run_id}.{name}.latency.log",
            keep_topics=settings.keep_topics,
            extra_env=extra_env,
        )
    except Exception as exc:  # the throughput results still deserve a report
        return {
            "offered_per_s": settings.latency_rate,
            "seconds": settings.latency_seconds,
            "error": repr(exc),
        }


def write(report: dict, settings: BenchSettings) -> str:
    settings.report_path.parent.mkdir(parents=True, exist_ok=True)
    settings.report_path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    table = markdown(report)
    md_path = settings.report_path.with_suffix(".md")
    png_path = settings.report_path.with_suffix(".png")
    try:
        chart.render(report, png_path)
        table += f"\nChart: {png_path}\n"
    except ImportError:
        table += "\nChart: skipped (matplotlib is not installed)\n"
    md_path.write_text(table, "utf-8")
    return table


def main() -> int:
    settings = BenchSettings.from_env()
    samples = os.environ.get("BENCH_SAMPLES")
    report = run(settings, Path(samples) if samples else None)
    print(write(report, settings))
    print(f"Report: {settings.report_path}")
    failed = [n for n in settings.contenders if (report.get(n) or {}).get("error")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
