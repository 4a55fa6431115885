"""Consumer lag from librdkafka statistics, including a group that has not committed yet (no broker)."""

from __future__ import annotations

import orjson

from processor.config import load
from processor.worker import Worker


def _worker() -> Worker:
    w = Worker(load(env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "CALIPER_INPUT_TOPIC": "in"}))
    w._assigned |= {("in", 0), ("in", 1)}
    return w


def _lag(w: Worker, partition: int) -> float | None:
    return w.metrics.registry.get_sample_value(
        "caliper_consumer_lag", {"topic": "in", "partition": str(partition)}
    )


def _stats(partitions: dict[str, dict]) -> str:
    return orjson.dumps({"topics": {"in": {"partitions": partitions}}, "brokers": {}}).decode()


def test_lag_is_librdkafkas_consumer_lag_once_the_group_has_committed() -> None:
    w = _worker()
    part = {
        "consumer_lag": 7,
        "consumer_lag_stored": 5,
        "hi_offset": 100,
        "lo_offset": 0,
        "committed_offset": 93,
    }
    w._on_stats(_stats({"0": part}))
    assert _lag(w, 0) == 7


def test_lag_before_the_first_commit_counts_from_the_stored_offset_or_the_low_watermark() -> None:
    # librdkafka reports consumer_lag -1 until the group commits: without a fallback a new group that
    # never manages to commit would show no lag at all, and the no-progress alert could never fire.
    w = _worker()
    stored = {"consumer_lag": -1, "consumer_lag_stored": 40, "hi_offset": 100, "lo_offset": 10}
    nothing = {"consumer_lag": -1, "consumer_lag_stored": -1, "hi_offset": 100, "lo_offset": 10}
    w._on_stats(_stats({"0": stored, "1": nothing}))
    assert _lag(w, 0) == 40
    assert _lag(w, 1) == 90


def test_unassigned_partitions_and_the_internal_partition_are_ignored() -> None:
    w = _worker()
    part = {"consumer_lag": 3, "hi_offset": 3, "lo_offset": 0}
    w._on_stats(_stats({"-1": part, "5": part}))
    assert _lag(w, 5) is None
