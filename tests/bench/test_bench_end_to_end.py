"""A small whole bench against the real broker: the report honours its contract."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_small_bench_writes_the_report(kafka_bootstrap, tmp_path):
    report_path = tmp_path / "report.json"
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "BENCH_EVENTS": "2000",
            "BENCH_REPEATS": "1",
            "BENCH_LATENCY_RATE": "500",
            "BENCH_LATENCY_SECONDS": "3",
            "BENCH_REPORT": str(report_path),
            "BENCH_RESULTS_DIR": str(tmp_path),
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bench"], cwd=REPO, env=env, capture_output=True, text=True, timeout=400
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = orjson.loads(report_path.read_bytes())
    assert report["events"] == 2000
    assert report["partitions"] == 6
    for name in ("passthrough", "processor", "mapping_only"):
        assert report[name]["events_per_s"] > 0, report[name]
    quix = report["quixstreams"]
    assert (quix["events_per_s"] is None and quix["skipped"]) or quix["events_per_s"] > 0
    proc_report = report["processor"]
    assert proc_report["cpu_s_per_1k_events"] > 0
    assert 10 < proc_report["rss_mb"] < 2000
    assert 0 <= proc_report["p50_ms"] <= proc_report["p99_ms"]
    assert report["latency"]["matched"] == 1500
    assert report["processor"]["runs"][0]["committed"] == 1.0
    avro = report["processor_avro"]
    assert avro["events_per_s"] > 0 and avro["runs"][0]["committed"] == 1.0
    sizes = report["output_sizes"]  # the local broker's segments, both formats
    assert sizes["json_bytes_per_1k_events"] > 10_000 and sizes["avro_bytes_per_1k_events"] > 10_000
    assert {t["name"] for t in report["targets"]} >= {"processor_avro >= 0.8 x processor"}
    assert report["input"]["mix"]["asset_accessed"] > 0.5
    assert {t["name"] for t in report["targets"]} >= {"worker peak RSS <= 200 MB"}
    assert (tmp_path / "report.md").read_text().startswith("# caliper-processor bench")
    assert "| target | measured | met |" in proc.stdout
