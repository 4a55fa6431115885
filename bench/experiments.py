"""`python -m bench.experiments`: the worker under other client settings, for docs/performance.md.

Loads one input (BENCH_EVENTS, default 100,000 here) and runs the worker over it with each variant
of producer and consumer settings (through the documented CALIPER_PRODUCER_* / CALIPER_PROCESSOR_*
environment overrides), BENCH_REPEATS times each, round-robin; then measures latency at the offered
load for the variants that matter to it. Writes bench-results/experiments.{json,md}.
BENCH_EXPERIMENTS=throughput or =latency runs only that half, =commits compares the commit
strategies and transaction sizes instead; BENCH_VARIANTS=a,b only the variants
whose names contain a or b.
"""

from __future__ import annotations

import os
import sys
import time
import uuid

import orjson

from bench import kafka_io, latency
from bench.generator import EventGenerator
from bench.report import summarize
from bench.runner import load_input, log, run_processor
from bench.settings import BenchSettings
from bench.templates import build_templates, load_samples

THROUGHPUT: dict[str, dict[str, str]] = {
    "defaults (lz4, linger 5 ms, batch 500)": {},
    "compression zstd": {"CALIPER_PRODUCER_COMPRESSION_TYPE": "zstd"},
    "compression none": {"CALIPER_PRODUCER_COMPRESSION_TYPE": "none"},
    "linger 10 ms": {"CALIPER_PRODUCER_LINGER_MS": "10"},
    "linger 20 ms": {"CALIPER_PRODUCER_LINGER_MS": "20"},
    "linger 50 ms, batch.size 1 MB": {
        "CALIPER_PRODUCER_LINGER_MS": "50",
        "CALIPER_PRODUCER_BATCH_SIZE": "1000000",
    },
    "consume batch 100": {"CALIPER_PROCESSOR_BATCH_SIZE": "100"},
    "consume batch 2000": {"CALIPER_PROCESSOR_BATCH_SIZE": "2000"},
    "consumer prefetch 16 MB": {"CALIPER_CONSUMER_QUEUED_MAX_MESSAGES_KBYTES": "16384"},
    "consumer prefetch 32 MB": {"CALIPER_CONSUMER_QUEUED_MAX_MESSAGES_KBYTES": "32768"},
    "consumer fetch.max.bytes 8 MB": {"CALIPER_CONSUMER_FETCH_MAX_BYTES": "8388608"},
}
LATENCY: dict[str, dict[str, str]] = {
    "defaults (linger 5 ms, batch 500)": {},
    "linger 1 ms": {"CALIPER_PRODUCER_LINGER_MS": "1"},
    "linger 20 ms": {"CALIPER_PRODUCER_LINGER_MS": "20"},
    "consume batch 100": {"CALIPER_PROCESSOR_BATCH_SIZE": "100"},
    "consume timeout 20 ms": {"CALIPER_PROCESSOR_CONSUME_TIMEOUT_S": "0.02"},
}


# BENCH_EXPERIMENTS=commits: how inputs are committed (docs/performance.md, "Delivery guarantees").
EOS = {"CALIPER_PROCESSOR_GUARANTEE": "exactly-once"}
COMMITS: dict[str, dict[str, str]] = {
    "at-least-once, per-record tracking (default)": {},
    "exactly-once, transactions of 50 ms / 5,000 inputs (default)": EOS,
    "exactly-once, 100 ms": {**EOS, "CALIPER_PROCESSOR_TRANSACTION_INTERVAL_S": "0.1"},
    "exactly-once, 25 ms": {**EOS, "CALIPER_PROCESSOR_TRANSACTION_INTERVAL_S": "0.025"},
    "exactly-once, 250 ms": {**EOS, "CALIPER_PROCESSOR_TRANSACTION_INTERVAL_S": "0.25"},
    "exactly-once, 1 s / 20,000": {
        **EOS,
        "CALIPER_PROCESSOR_TRANSACTION_INTERVAL_S": "1.0",
        "CALIPER_PROCESSOR_TRANSACTION_MAX_INPUTS": "20000",
        "CALIPER_PROCESSOR_MAX_IN_FLIGHT": "20000",
    },
}
COMMITS_LATENCY: dict[str, dict[str, str]] = {k: v for k, v in COMMITS.items() if "1 s" not in k}


def _pick(variants: dict[str, dict[str, str]], wanted: str) -> dict[str, dict[str, str]]:
    """BENCH_VARIANTS: comma-separated parts of variant names to run (all when empty)."""
    parts = [w.strip() for w in wanted.split(",") if w.strip()]
    return {k: v for k, v in variants.items() if not parts or any(p in k for p in parts)}


def main() -> int:
    env = dict(os.environ)
    env.setdefault("BENCH_EVENTS", "100000")
    env.setdefault("BENCH_REPEATS", "2")
    env.setdefault("BENCH_LATENCY_SECONDS", "15")
    settings = BenchSettings.from_env(env)
    run_id = f"bench-exp-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    logs = settings.results_dir / "logs" / run_id
    templates = build_templates(load_samples())
    input_topic = f"{run_id}.input"
    kafka_io.create_topics(settings.bootstrap, [input_topic], settings.partitions)
    results: dict = {
        "events": settings.events,
        "partitions": settings.partitions,
        "throughput": {},
        "latency": {},
    }
    which = env.get("BENCH_EXPERIMENTS", "all")
    wanted = env.get("BENCH_VARIANTS", "")
    throughput = _pick(THROUGHPUT, wanted) if which in ("all", "throughput") else {}
    latencies = _pick(LATENCY, wanted) if which in ("all", "latency") else {}
    if which == "commits":
        throughput, latencies = _pick(COMMITS, wanted), _pick(COMMITS_LATENCY, wanted)
    try:
        if throughput:
            results["input"] = load_input(settings, EventGenerator(templates, settings.seed), input_topic)
        runs: dict[str, list[dict]] = {name: [] for name in throughput}
        for repeat in range(1, settings.repeats + 1):
            for i, (name, extra) in enumerate(throughput.items()):
                result = run_processor(settings, input_topic, f"{run_id}.v{i}.{repeat}", logs, extra)
                runs[name].append(result)
                log(f"{name}: {result.get('events_per_s') or result.get('error')}")
        for name, extra in throughput.items():
            results["throughput"][name] = {"env": extra, **summarize(runs[name])}
    finally:
        kafka_io.delete_topics(settings.bootstrap, [input_topic])
    for i, (name, extra) in enumerate(latencies.items()):
        lat = latency.measure(
            bootstrap=settings.bootstrap,
            worker_command=settings.worker_command,
            templates=templates,
            seed=settings.seed + 1,
            partitions=settings.partitions,
            rate=settings.latency_rate,
            seconds=settings.latency_seconds,
            prefix=f"{run_id}.lat{i}",
            log_path=logs / f"lat{i}.log",
            extra_env=extra,
        )
        lat.pop("histogram", None)
        results["latency"][name] = {"env": extra, **lat}
        log(f"latency {name}: p50 {lat.get('p50_ms')} ms, p99 {lat.get('p99_ms')} ms")
    out = settings.results_dir / f"experiments-{which}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    table = _markdown(results)
    out.with_suffix(".md").write_text(table, "utf-8")
    print(table)
    return 0


def _markdown(results: dict) -> str:
    base = next(iter(results["throughput"].values()), {}).get("events_per_s") or 0
    lines = [
        f"Worker throughput, {results['events']:,} events, {results['partitions']} partitions",
        "",
        "| variant | events/s (median) | min-max | vs defaults | CPU s / 1k events | peak RSS MB |",
        "|-|-:|-:|-:|-:|-:|",
    ]
    for name, r in results["throughput"].items():
        rate = r.get("events_per_s")
        if rate is None:
            lines.append(f"| {name} | failed: {r.get('error')} | | | | |")
            continue
        rel = f"{(rate / base - 1) * 100:+.0f}%" if base else "n/a"
        lines.append(
            f"| {name} | {rate:,.0f} | {r['events_per_s_min']:,.0f}-{r['events_per_s_max']:,.0f} | {rel} "
            f"| {r.get('cpu_s_per_1k_events', float('nan')):.4f} | {r.get('rss_mb', float('nan')):.0f} |"
        )
    lines += [
        "",
        "| latency variant | p50 ms | p90 ms | p99 ms | max ms | visible p50 ms | visible p99 ms "
        "| worker CPU s / 1k events |",
        "|-|-:|-:|-:|-:|-:|-:|-:|",
    ]
    for name, r in results["latency"].items():
        cells = [
            r.get(k) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "visible_p50_ms", "visible_p99_ms")
        ]
        cpu = r.get("worker_cpu_s_per_1k_events")
        lines.append(
            f"| {name} | "
            + " | ".join("n/a" if c is None else f"{c:.0f}" for c in cells)
            + f" | {'n/a' if cpu is None else f'{cpu:.4f}'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
