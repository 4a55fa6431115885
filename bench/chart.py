"""The report's picture: throughput of the four contenders (median, min-max bars) and the latency
distribution of the worker at the offered load, in one PNG (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path

from bench.report import LABELS
from bench.settings import CONTENDERS


def render(report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1.2, 1]})
    names, medians, lows, highs = [], [], [], []
    for name in CONTENDERS:
        c = report.get(name) or {}
        rate = c.get("events_per_s")
        names.append(LABELS[name].split(" (")[0])
        medians.append(rate or 0)
        lows.append((rate - c.get("events_per_s_min", rate)) if rate else 0)
        highs.append((c.get("events_per_s_max", rate) - rate) if rate else 0)
    colors = ["#9e9e9e", "#1f77b4", "#ff7f0e", "#2ca02c"]
    bars = left.bar(names, medians, yerr=[lows, highs], capsize=6, color=colors)
    for bar, rate in zip(bars, medians, strict=True):
        label = f"{rate:,.0f}" if rate else "n/a"
        left.annotate(
            label,
            (bar.get_x() + bar.get_width() * 0.3, bar.get_height()),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
        )
    left.set_ylabel("events per second (median, bars: min-max)")
    left.set_title(
        f"Throughput, {report['events']:,} events, {report['partitions']} partitions, "
        f"{report.get('repeats', 1)} run(s) each"
    )
    left.set_ylim(0, max([*medians, 1]) * 1.15)

    lat = report.get("latency") or {}
    hist = lat.get("histogram") or []
    if hist:
        xs = [b for b, _ in hist]
        counts = [n for _, n in hist]
        width = lat.get("bucket_ms", 1.0)
        right.bar(xs, counts, width=width, align="edge", color="#1f77b4")
        for key, style in (("p50_ms", "--"), ("p99_ms", ":")):
            if lat.get(key) is not None:
                right.axvline(lat[key], color="black", linestyle=style, label=f"{key[:3]} {lat[key]:.0f} ms")
        right.axvline(50, color="red", linewidth=1, label="target p99 50 ms")
        right.set_yscale("log")
        right.set_xlabel("output log-append minus input log-append (ms)")
        right.set_ylabel("events")
        right.legend()
    else:
        right.text(0.5, 0.5, "latency not measured", ha="center", va="center", transform=right.transAxes)
    right.set_title(f"Worker latency at {lat.get('offered_per_s', 0):,} events/s offered")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
