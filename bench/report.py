"""Turn bench runs into the report: medians with their spread, targets met or missed, Markdown.

The JSON shape is a contract (DESIGN.md): `events`, `partitions`, and per contender an object with
`events_per_s`; `processor` also has `cpu_s_per_1k_events`, `rss_mb`, `p50_ms` and `p99_ms`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.settings import CONTENDERS

LABELS = {
    "passthrough": "passthrough (plain copy, the ceiling)",
    "processor": "processor (caliper-processor run)",
    "quixstreams": "Quix Streams (same job)",
    "mapping_only": "mapping only (no Kafka, 1 core)",
    "mapping_only_no_privacy": "mapping only, no privacy policy",
    "mapping_only_minimal": "mapping only, privacy preset minimal",
    "processor_eos": "processor, exactly-once (--guarantee exactly-once)",
    "quixstreams_eos": "Quix Streams, exactly-once",
    "processor_avro": "processor, Avro output (Schema Registry)",
}


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (an observed value, no interpolation): p99 of 100 values is the 99th."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {pct}")
    ordered = sorted(values)
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def histogram(values: Sequence[float], bucket_ms: float = 1.0) -> list[list[float]]:
    """[[bucket lower bound, count], ...] for the non-empty buckets, for the chart and the report."""
    counts: dict[float, int] = {}
    for v in values:
        b = math.floor(v / bucket_ms) * bucket_ms
        counts[b] = counts.get(b, 0) + 1
    return [[b, counts[b]] for b in sorted(counts)]


SUMMARY_KEYS = ("cpu_s_per_1k_events", "rss_mb", "wall_s", "output_bytes_per_1k_events")


def summarize(runs: list[dict], keys: Sequence[str] = SUMMARY_KEYS) -> dict:
    """Median throughput of the runs with min, max and relative range (max-min)/median as the noise;
    other metrics as medians (rss_mb as the maximum: the target is about the peak)."""
    ok = [r for r in runs if r.get("events_per_s")]
    if not ok:
        reason = next((r.get("error") for r in runs if r.get("error")), "no successful run")
        return {"events_per_s": None, "error": reason, "runs": runs}
    rates = [r["events_per_s"] for r in ok]
    median = statistics.median(rates)
    out: dict = {
        "events_per_s": round(median, 1),
        "events_per_s_min": round(min(rates), 1),
        "events_per_s_max": round(max(rates), 1),
        "spread_pct": round((max(rates) - min(rates)) / median * 100, 1) if median else None,
        "repeats": len(ok),
    }
    for key in keys:
        values = [r[key] for r in ok if r.get(key) is not None]
        if values:
            out[key] = round(max(values) if key == "rss_mb" else statistics.median(values), 3)
    out["runs"] = runs
    return out


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    value: float | None
    threshold: float
    comparison: str  # ">=" or "<="
    unit: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.threshold if self.comparison == ">=" else self.value <= self.threshold

    def as_dict(self) -> dict:
        value = None if self.value is None else round(self.value, 3)
        return {
            "name": self.name,
            "value": value,
            "threshold": self.threshold,
            "comparison": self.comparison,
            "unit": self.unit,
            "met": self.met,
        }


def _rate(report: dict, name: str) -> float | None:
    return (report.get(name) or {}).get("events_per_s")


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _privacy_cost(report: dict, name: str) -> float | None:
    """µs of CPU per event a privacy preset adds to the mapping alone (runs side by side)."""
    cpu = (report.get(name) or {}).get("cpu_s_per_1k_events")
    base = (report.get("mapping_only_no_privacy") or {}).get("cpu_s_per_1k_events")
    return None if cpu is None or base is None else (cpu - base) * 1000


def targets(report: dict) -> list[Target]:
    """The targets the project set itself (docs/performance.md explains them)."""
    proc = report.get("processor") or {}
    latency = report.get("latency") or {}
    eos_latency = report.get("latency_eos") or {}
    return [
        Target(
            "processor >= 0.6 x passthrough",
            _ratio(_rate(report, "processor"), _rate(report, "passthrough")),
            0.6,
            ">=",
            "x",
        ),
        Target(
            "processor >= 2 x quixstreams",
            _ratio(_rate(report, "processor"), _rate(report, "quixstreams")),
            2.0,
            ">=",
            "x",
        ),
        Target("mapping_only >= 80,000 events/s", _rate(report, "mapping_only"), 80_000, ">=", "events/s"),
        Target(
            f"p99 <= 50 ms at {latency.get('offered_per_s', 2000)} events/s",
            proc.get("p99_ms"),
            50,
            "<=",
            "ms",
        ),
        Target("worker peak RSS <= 200 MB", proc.get("rss_mb"), 200, "<=", "MB"),
        Target(
            "processor_eos >= 0.7 x processor",
            _ratio(_rate(report, "processor_eos"), _rate(report, "processor")),
            0.7,
            ">=",
            "x",
        ),
        Target(
            "processor_eos >= 2 x quixstreams_eos",
            _ratio(_rate(report, "processor_eos"), _rate(report, "quixstreams_eos")),
            2.0,
            ">=",
            "x",
        ),
        Target(
            "privacy minimal <= 2 µs per event",
            _privacy_cost(report, "mapping_only_minimal"),
            2.0,
            "<=",
            "µs",
        ),
        Target(
            f"exactly-once p99 <= 100 ms at {eos_latency.get('offered_per_s', 2000)} events/s",
            (report.get("processor_eos") or {}).get("p99_ms"),
            100,
            "<=",
            "ms",
        ),
        Target(
            "processor_avro >= 0.8 x processor",
            _ratio(_rate(report, "processor_avro"), _rate(report, "processor")),
            0.8,
            ">=",
            "x",
        ),
    ]


def output_sizes(report: dict) -> dict | None:
    """Bytes per 1,000 events on the envelope topics, JSON (processor) against Avro (processor_avro),
    both lz4 as the worker produces them; None unless both were sized."""
    json_ = (report.get("processor") or {}).get("output_bytes_per_1k_events")
    avro = (report.get("processor_avro") or {}).get("output_bytes_per_1k_events")
    if not json_ or not avro:
        return None
    return {
        "json_bytes_per_1k_events": json_,
        "avro_bytes_per_1k_events": avro,
        "avro_over_json": round(avro / json_, 3),
        "method": "log segment files of the envelope topics on the broker (lz4 batches as stored)",
    }


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def markdown(report: dict) -> str:
    """The table printed at the end of `make bench` and written to report.md."""
    lines = [
        f"# caliper-processor bench: {report['events']:,} events, {report['partitions']} partitions, "
        f"{report.get('repeats', 1)} run(s) each",
        "",
        "| contender | events/s (median) | min | max | spread | CPU s / 1k events | peak RSS MB |",
        "|-|-:|-:|-:|-:|-:|-:|",
    ]
    for name in CONTENDERS:
        c = report.get(name) or {}
        if c.get("events_per_s") is None:
            why = c.get("skipped") or c.get("error") or "not run"
            lines.append(f"| {LABELS[name]} | n/a ({why}) | | | | | |")
            continue
        spread = c.get("spread_pct")
        lines.append(
            f"| {LABELS[name]} | {_fmt(c['events_per_s'])} | {_fmt(c.get('events_per_s_min'))} "
            f"| {_fmt(c.get('events_per_s_max'))} | {'n/a' if spread is None else f'{spread:.1f}%'} "
            f"| {_fmt(c.get('cpu_s_per_1k_events'), 3)} | {_fmt(c.get('rss_mb'), 1)} |"
        )
    cpu = {n: (report.get(n) or {}).get("cpu_s_per_1k_events") for n in CONTENDERS}
    if cpu["processor"] and cpu["quixstreams"]:
        lines += [
            "",
            f"CPU per event (steadier than throughput on a shared machine): processor "
            f"{cpu['processor'] * 1000:.0f} µs, Quix Streams {cpu['quixstreams'] * 1000:.0f} µs "
            f"({cpu['quixstreams'] / cpu['processor']:.2f} x the processor's)"
            + (f", passthrough {cpu['passthrough'] * 1000:.0f} µs" if cpu["passthrough"] else "")
            + (f", mapping alone {cpu['mapping_only'] * 1000:.0f} µs" if cpu["mapping_only"] else "")
            + ".",
        ]
    sizes = report.get("output_sizes")
    if sizes:
        lines += [
            "",
            f"Output size on the broker (envelope topics, lz4): JSON {sizes['json_bytes_per_1k_events']:,} "
            f"bytes per 1,000 events, Avro {sizes['avro_bytes_per_1k_events']:,} "
            f"({sizes['avro_over_json']:.2f} x JSON).",
        ]
    costs = {n: _privacy_cost(report, n) for n in ("mapping_only", "mapping_only_minimal")}
    if costs["mapping_only"] is not None and costs["mapping_only_minimal"] is not None:
        lines += [
            "",
            f"Privacy pass, CPU per event over the mapping alone: the default policy (instructure) "
            f"{costs['mapping_only']:+.1f} µs, minimal {costs['mapping_only_minimal']:+.1f} µs.",
        ]
    for key, what in (("latency", "Latency"), ("latency_eos", "Latency with exactly-once")):
        lat = report.get(key) or {}
        if lat.get("p99_ms") is not None:
            lines += [
                "",
                f"{what} (output log-append minus input log-append), offered {lat['offered_per_s']:,} "
                f"events/s for {lat['seconds']} s (achieved {_fmt(lat.get('achieved_per_s'))}/s, "
                f"{lat.get('matched', 0):,} events matched): p50 {_fmt(lat['p50_ms'], 1)} ms, "
                f"p90 {_fmt(lat.get('p90_ms'), 1)} ms, p99 {_fmt(lat['p99_ms'], 1)} ms, "
                f"max {_fmt(lat.get('max_ms'), 1)} ms."
                + (
                    f" As a read_committed consumer sees it: p50 {_fmt(lat['visible_p50_ms'], 1)} ms, "
                    f"p99 {_fmt(lat.get('visible_p99_ms'), 1)} ms."
                    if lat.get("visible_p50_ms") is not None
                    else ""
                ),
            ]
        elif lat.get("error"):
            lines += ["", f"{what}: not measured ({lat['error']})."]
    lines += ["", "| target | measured | met |", "|-|-:|-|"]
    for t in report.get("targets", []):
        met = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        digits = 2 if t["unit"] == "x" else (1 if t["unit"] in ("ms", "MB") else 0)
        lines.append(f"| {t['name']} | {_fmt(t['value'], digits)} {t['unit']} | {met} |")
    if report.get("duration_s"):
        machine = report.get("machine") or {}
        load = (machine.get("loadavg_1m_at_start"), machine.get("loadavg_1m_at_end"))
        busy = ""
        if None not in load:
            busy = f"; load average {load[0]:.1f} at start, {load[1]:.1f} at end, {machine.get('cpus')} CPUs"
        minutes, loading = report["duration_s"] / 60, report["input"]["seconds"]
        lines += ["", f"Whole bench: {minutes:.1f} min (loading: {loading} s{busy})."]
    return "\n".join(lines) + "\n"
