"""Exactly-once against the real broker: each input's outputs appear once to read_committed consumers,
its offsets commit in the same transaction, and an aborted transaction leaves nothing visible."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from processor.config import load
from processor.delivery.exactly_once import ExactlyOnce
from processor.metrics import sample_value
from processor.worker import Worker
from tests.worker.conftest import PROFILES, bad_samples, produce, sample_events

pytestmark = pytest.mark.kafka


def read(bootstrap: str, topics: list[str], isolation: str) -> list[bytes]:
    """Every record of the topics, read to the end with the given isolation level."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "reader",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "enable.partition.eof": True,
        }
    )
    parts = []
    for t in topics:
        for p in c.list_topics(t, timeout=10).topics[t].partitions:
            parts.append(TopicPartition(t, p, 0))
    c.assign(parts)
    out: list[bytes] = []
    ended: set = set()
    while len(ended) < len(parts):
        for m in c.consume(1000, 1.0):
            if m.error():
                ended.add((m.topic(), m.partition()))
                continue
            out.append(m.value())
    c.close()
    return out


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    c.close()
    return {tp.partition: tp.offset for tp in tps}


def worker(s, **env: str) -> Worker:
    cfg = load(env=s.env(CALIPER_PROCESSOR_GUARANTEE="exactly-once", CALIPER_METRICS_PORT="0", **env))
    return Worker(cfg, exit_when_drained=True)


def mark(i: int, raw: bytes) -> bytes:
    obj = orjson.loads(raw)
    obj["metadata"]["request_id"] = f"rq-{i:07d}-end"
    return orjson.dumps(obj)


def inputs(n: int) -> list[bytes]:
    good = sample_events()
    return [mark(i, good[i % len(good)]) for i in range(n)]


def numbers(values: list[bytes]) -> Counter[int]:
    import re

    return Counter(int(m.group(1)) for v in values if (m := re.search(rb"rq-(\d{7})-end", v or b"")))


def test_each_input_comes_out_once_and_its_offset_commits_with_it(stack) -> None:
    s = stack(partitions=3)
    values = inputs(600)
    bad = bad_samples()
    produce(s.bootstrap, s.input, [(None, v, None) for v in values + bad])
    w = worker(s)
    assert w.run() == 0
    outs = [s.output(p) for p in PROFILES]
    seen = numbers(read(s.bootstrap, outs, "read_committed"))
    assert set(seen) == set(range(600)) and set(seen.values()) == {1}
    side = read(s.bootstrap, [s.dlq, s.unmapped], "read_committed")
    assert sorted(side) == sorted(bad[: len(side)]) and len(side) >= 1  # raw bytes kept
    offs = committed(s.bootstrap, s.group, s.input, 3)
    assert sum(offs.values()) == len(values) + len(bad)
    assert sample_value(w.metrics, "caliper_transactions_total", {"outcome": "committed"}) >= 1
    assert sample_value(w.metrics, "caliper_transactions_total", {"outcome": "aborted"}) == 0
    assert sample_value(w.metrics, "caliper_delivery_info", {"guarantee": "exactly-once"}) == 1


def test_an_aborted_transaction_leaves_nothing_visible_and_its_inputs_are_processed_again(stack) -> None:
    s = stack(partitions=2)
    values = inputs(300)
    produce(s.bootstrap, s.input, [(None, v, None) for v in values])
    w = worker(s, CALIPER_PROCESSOR_TRANSACTION_MAX_INPUTS="100")
    ExactlyOnce.hook.fail_next_commit = True
    try:
        assert w.run() == 0
    finally:
        ExactlyOnce.hook.fail_next_commit = False
    assert sample_value(w.metrics, "caliper_transactions_total", {"outcome": "aborted"}) == 1
    outs = [s.output(p) for p in PROFILES]
    committed_view = numbers(read(s.bootstrap, outs, "read_committed"))
    everything = numbers(read(s.bootstrap, outs, "read_uncommitted"))
    assert set(committed_view) == set(range(300)) and set(committed_view.values()) == {1}
    # the aborted transaction's records are in the log (read_uncommitted sees them twice) ...
    twice = [i for i, n in everything.items() if n == 2]
    assert twice, "the aborted transaction wrote nothing: the hook did not fire where expected"
    # ... and processed again: every one of them is also in a committed transaction, once
    assert all(committed_view[i] == 1 for i in twice)
    assert sum(committed(s.bootstrap, s.group, s.input, 2).values()) == 300


def test_two_workers_with_one_transactional_id_the_older_is_fenced_and_exits_1(stack, tmp_path) -> None:
    import time

    from tests.worker.conftest import wait_for

    s = stack(partitions=2)
    env = {"CALIPER_PROCESSOR_GUARANTEE": "exactly-once", "CALIPER_PROCESSOR_TRANSACTIONAL_ID": "shared-id"}
    older, _ = s.start(log=tmp_path / "older.log", **env)
    produce(s.bootstrap, s.input, [(None, v, None) for v in inputs(50)])
    wait_for(lambda: b"transactions initialised" in (tmp_path / "older.log").read_bytes(), 60, "older up")
    time.sleep(3)
    newer, _ = s.start(log=tmp_path / "newer.log", **env)
    wait_for(lambda: b"transactions initialised" in (tmp_path / "newer.log").read_bytes(), 60, "newer up")
    deadline = time.monotonic() + 60
    n = 50
    while older.poll() is None and time.monotonic() < deadline:  # inputs make the older one transact
        produce(s.bootstrap, s.input, [(None, v, None) for v in inputs(n + 10)[n:]])
        n += 10
        time.sleep(0.5)
    assert older.poll() == 1, (tmp_path / "older.log").read_text()[-3000:]
    errors = [
        orjson.loads(line)
        for line in (tmp_path / "older.log").read_bytes().splitlines()
        if line.startswith(b"{") and b'"level":"error"' in line
    ]
    assert errors and any("fenced" in e.get("error", "").lower() for e in errors), errors
    assert not any(b"Traceback" in line for line in (tmp_path / "older.log").read_bytes().splitlines())
    assert newer.poll() is None  # the newer one carries on
