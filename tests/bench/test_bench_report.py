"""Report arithmetic: percentiles, medians with spread, targets, Markdown, chart, settings."""

from __future__ import annotations

import pytest

from bench.contenders.passthrough import PartitionOffsets
from bench.report import histogram, markdown, percentile, summarize, targets
from bench.settings import BenchSettings


def test_nearest_rank_percentiles():
    values = list(range(100, 0, -1))  # 1..100, unsorted
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1], 0)


def test_histogram_buckets():
    assert histogram([0.2, 0.9, 1.0, 3.5, 3.9], 1.0) == [[0, 2], [1, 1], [3, 2]]


def test_summarize_median_and_spread():
    runs = [
        {"events_per_s": 100.0, "cpu_s_per_1k_events": 0.5, "rss_mb": 90.0, "wall_s": 3.0},
        {"events_per_s": 120.0, "cpu_s_per_1k_events": 0.4, "rss_mb": 110.0, "wall_s": 2.0},
        {"events_per_s": 80.0, "cpu_s_per_1k_events": 0.6, "rss_mb": 100.0, "wall_s": 4.0},
    ]
    s = summarize(runs)
    assert s["events_per_s"] == 100.0
    assert s["events_per_s_min"] == 80.0
    assert s["events_per_s_max"] == 120.0
    assert s["spread_pct"] == 40.0
    assert s["cpu_s_per_1k_events"] == 0.5
    assert s["rss_mb"] == 110.0  # the peak, not the median
    assert s["repeats"] == 3


def test_summarize_all_failed_keeps_the_error():
    s = summarize([{"error": "processor exit status 1"}])
    assert s["events_per_s"] is None
    assert s["error"] == "processor exit status 1"


def _report(proc=30_000.0, passthrough=40_000.0, quix=10_000.0, mapping=90_000.0, p99=60.0, rss=150.0):
    return {
        "events": 1000,
        "partitions": 6,
        "repeats": 3,
        "passthrough": {"events_per_s": passthrough},
        "processor": {"events_per_s": proc, "p99_ms": p99, "p50_ms": 5.0, "rss_mb": rss},
        "quixstreams": {"events_per_s": quix},
        "mapping_only": {"events_per_s": mapping},
        "latency": {"offered_per_s": 2000, "seconds": 30, "p50_ms": 5.0, "p99_ms": p99},
    }


def test_targets_met_and_missed():
    got = {t.name: t for t in targets(_report())}
    assert got["processor >= 0.6 x passthrough"].value == pytest.approx(0.75)
    assert got["processor >= 0.6 x passthrough"].met is True
    assert got["processor >= 2 x quixstreams"].value == pytest.approx(3.0)
    assert got["mapping_only >= 80,000 events/s"].met is True
    assert got["p99 <= 50 ms at 2000 events/s"].met is False
    assert got["worker peak RSS <= 200 MB"].met is True
    slow = {t.name: t.met for t in targets(_report(proc=20_000.0, mapping=70_000.0, rss=250.0))}
    assert slow["processor >= 0.6 x passthrough"] is False
    assert slow["mapping_only >= 80,000 events/s"] is False
    assert slow["worker peak RSS <= 200 MB"] is False


def test_targets_unknown_when_a_contender_did_not_run():
    report = _report()
    report["quixstreams"] = {"events_per_s": None, "skipped": "no virtualenv"}
    got = {t.name: t.met for t in targets(report)}
    assert got["processor >= 2 x quixstreams"] is None


def test_markdown_table_names_contenders_and_misses():
    report = _report()
    report["targets"] = [t.as_dict() for t in targets(report)]
    report["quixstreams"] = {"events_per_s": None, "skipped": "no virtualenv"}
    text = markdown(report)
    assert "| passthrough (plain copy, the ceiling) | 40,000 |" in text
    assert "n/a (no virtualenv)" in text
    assert "| p99 <= 50 ms at 2000 events/s | 60.0 ms | MISSED |" in text
    assert "p99 60.0 ms" in text


def test_chart_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from bench.chart import render

    report = _report()
    report["latency"]["histogram"] = [[1.0, 10], [2.0, 30], [40.0, 1]]
    path = render(report, tmp_path / "bench.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_partition_offsets_commit_only_contiguous_acks():
    t = PartitionOffsets()
    for off in (10, 11, 12, 13):
        t.add(off)
    t.ack(12)
    assert t.committable() is None  # 10 still in flight
    t.ack(10)
    assert t.committable() == 11  # 10 done, 11 not
    t.ack(11)
    t.ack(13)
    assert t.committable() == 14


def test_settings_from_env():
    s = BenchSettings.from_env(
        {"BENCH_EVENTS": "2_000", "BENCH_CONTENDERS": "processor, passthrough", "BENCH_REPORT": "/tmp/r.json"}
    )
    assert s.events == 2000
    assert s.contenders == ("processor", "passthrough")
    assert str(s.report_path) == "/tmp/r.json"
    assert s.repeats == 3 and s.partitions == 6 and s.latency_rate == 2000
    with pytest.raises(ValueError, match="unknown"):
        BenchSettings.from_env({"BENCH_CONTENDERS": "flink"})
    with pytest.raises(ValueError):
        BenchSettings.from_env({"BENCH_EVENTS": "0"})


def test_profile_summary_counts_inclusive_and_self():
    from bench.profile import summarize_raw

    lines = [
        "main (a.py:1);work (a.py:5);parse (b.py:9) 30",
        "main (a.py:1);work (a.py:6) 10",
        "main (a.py:1);idle (c.py:2) 60",
    ]
    text = summarize_raw(lines)
    assert "100 samples" in text
    assert " 40.0%  work (a.py)" in text  # inclusive: 30 + 10
    assert " 30.0%  parse (b.py)" in text
    focused = summarize_raw(lines, focus="work")
    assert "40 samples" in focused
    assert "idle" not in focused


def test_markdown_compares_cpu_per_event():
    report = _report()
    report["processor"]["cpu_s_per_1k_events"] = 0.034
    report["quixstreams"]["cpu_s_per_1k_events"] = 0.051
    report["passthrough"]["cpu_s_per_1k_events"] = 0.006
    text = markdown(report)
    assert "processor 34 µs, Quix Streams 51 µs (1.50 x the processor's), passthrough 6 µs." in text


def test_markdown_states_duration_and_machine_load():
    report = _report()
    report.update({"duration_s": 240.0, "input": {"seconds": 8.0}})
    report["machine"] = {"cpus": 2, "loadavg_1m_at_start": 0.5, "loadavg_1m_at_end": 2.25}
    text = markdown(report)
    assert "Whole bench: 4.0 min (loading: 8.0 s; load average 0.5 at start, 2.2 at end, 2 CPUs)." in text


def test_avro_target_and_output_sizes():
    from bench.report import output_sizes

    report = _report(proc=30_000.0)
    report["processor"]["output_bytes_per_1k_events"] = 400_000
    report["processor_avro"] = {"events_per_s": 22_500.0, "output_bytes_per_1k_events": 300_000}
    got = {t.name: t for t in targets(report)}
    assert got["processor_avro >= 0.8 x processor"].value == pytest.approx(0.75)
    assert got["processor_avro >= 0.8 x processor"].met is False
    sizes = output_sizes(report)
    assert sizes["json_bytes_per_1k_events"] == 400_000
    assert sizes["avro_bytes_per_1k_events"] == 300_000
    assert sizes["avro_over_json"] == 0.75
    report["output_sizes"] = sizes
    report["targets"] = [t.as_dict() for t in targets(report)]
    text = markdown(report)
    assert "| processor, Avro output (Schema Registry) | 22,500 |" in text
    assert "JSON 400,000 bytes per 1,000 events, Avro 300,000 (0.75 x JSON)." in text
    assert "| processor_avro >= 0.8 x processor | 0.75 x | MISSED |" in text
    del report["processor_avro"]
    assert output_sizes(report) is None


def test_log_bytes_sums_the_segments_of_the_named_topics_only(tmp_path):
    from bench.kafka_io import log_bytes

    for name, files in {
        "jobs.basic-0": {"00000000000000000000.log": 1000, "00000000000000000000.index": 77},
        "jobs.basic-1": {"00000000000000000000.log": 200, "00000000000000000500.log": 30},
        "jobs.basic-extra-0": {"00000000000000000000.log": 5000},  # another topic, a longer name
        "jobs.session-0": {"00000000000000000000.log": 4},
    }.items():
        (tmp_path / name).mkdir()
        for f, size in files.items():
            (tmp_path / name / f).write_bytes(b"x" * size)
    assert log_bytes(tmp_path, ["jobs.basic"]) == 1230
    assert log_bytes(tmp_path, ["jobs.basic", "jobs.session"]) == 1234


def test_processor_avro_is_a_contender():
    s = BenchSettings.from_env({"BENCH_CONTENDERS": "processor,processor_avro"})
    assert s.contenders == ("processor", "processor_avro")
