"""Delivery guarantees against a real broker: kill -9, SIGTERM, and a produce that cannot succeed."""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from pathlib import Path

import orjson
from confluent_kafka import Consumer, TopicPartition

from .conftest import PROFILES, metrics_or_none, produce, read_all, sample_events, scrape, wait_for

MARK = re.compile(rb"rq-(\d{6})-end")


def numbered_inputs(n: int) -> list[tuple[bytes, bytes, None]]:
    """n distinct Canvas events (the samples, each with its own request_id marker), keyed by number."""
    samples = [orjson.loads(v) for v in sample_events()]
    out = []
    for i in range(n):
        obj = samples[i % len(samples)]
        obj["metadata"]["request_id"] = f"rq-{i:06d}-end"
        out.append((f"k{i % 97}".encode(), orjson.dumps(obj), None))
    return out


def output_marks(stack) -> Counter:
    """How many envelopes carry each input's marker, over all profile topics."""
    seen: Counter = Counter()
    for p in PROFILES:
        for r in read_all(stack.bootstrap, stack.output(p), timeout=60):
            m = MARK.search(r.value)
            assert m, r.value[:200]
            seen[int(m.group(1))] += 1
    return seen


def consumed(port: int) -> float:
    m = metrics_or_none(port)
    return m.get(("caliper_inputs_consumed_total", ()), 0) if m else 0


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def test_kill_9_mid_stream_loses_nothing_and_duplicates_are_bounded(stack, tmp_path: Path) -> None:
    n, max_in_flight, commit_every = 30_000, 2_000, 1_000
    s = stack(partitions=3)
    produce(s.bootstrap, s.input, numbered_inputs(n))
    settings = {
        "CALIPER_PROCESSOR_MAX_IN_FLIGHT": str(max_in_flight),
        "CALIPER_PROCESSOR_COMMIT_EVERY": str(commit_every),
        "CALIPER_PROCESSOR_BATCH_SIZE": "500",
        # the killed member leaves the group only when its session times out: keep that short
        "CALIPER_CONSUMER_SESSION_TIMEOUT_MS": "6000",
    }
    log = tmp_path / "worker.log"
    proc, port = s.start(log=log, **settings)
    wait_for(lambda: consumed(port) >= n * 0.3, 45, "30% of the input consumed")
    at_kill = consumed(port)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert at_kill < n, "the worker finished before it could be killed; use a larger input"

    again, _ = s.start("--exit-when-drained", log=log, **settings)
    assert again.wait(60) == 0, log.read_text()[-3000:]

    seen = output_marks(s)
    missing = [i for i in range(n) if seen[i] == 0]
    assert not missing, f"{len(missing)} inputs have no output, e.g. {missing[:5]}"
    duplicates = sum(seen.values()) - n
    # Replayed at most: inputs in flight at the kill plus those done since the last commit.
    assert duplicates <= max_in_flight + commit_every, duplicates
    print(f"killed after {at_kill:.0f} of {n}; {duplicates} duplicates")


def test_sigterm_mid_stream_exits_0_and_restart_has_no_loss_no_duplicates(stack, tmp_path: Path) -> None:
    n = 20_000
    s = stack(partitions=3)
    produce(s.bootstrap, s.input, numbered_inputs(n))
    log = tmp_path / "worker.log"
    settings = {"CALIPER_PROCESSOR_MAX_IN_FLIGHT": "2000", "CALIPER_PROCESSOR_SHUTDOWN_TIMEOUT_S": "20"}
    proc, port = s.start(log=log, **settings)
    wait_for(lambda: consumed(port) >= n * 0.25, 45, "25% of the input consumed")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(25) == 0, log.read_text()[-3000:]
    stop_s = time.monotonic() - t0
    assert stop_s < 20
    first = output_marks(s)
    assert 0 < sum(first.values()) < n, "stopped after everything was done; use a larger input"
    assert max(first.values()) == 1

    again, _ = s.start("--exit-when-drained", log=log, **settings)
    assert again.wait(60) == 0, log.read_text()[-3000:]
    seen = output_marks(s)
    assert [i for i in range(n) if seen[i] != 1] == []
    assert sum(seen.values()) == n
    lines = [orjson.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(rec["msg"] == "worker stopped" for rec in lines)
    print(f"stopped in {stop_s:.2f}s")


def test_a_permanent_produce_failure_stops_without_committing_past_it(stack, tmp_path: Path) -> None:
    s = stack(partitions=1, outputs=False)  # no output topics, and the broker does not auto-create
    good = sample_events()[:5]
    inputs = [(b"k0", b"not json at all", None)] + [(b"k", v, None) for v in good]
    produce(s.bootstrap, s.input, inputs)
    log = tmp_path / "worker.log"
    fast_fail = {
        "CALIPER_PRODUCER_TOPIC_METADATA_PROPAGATION_MAX_MS": "1000",
        "CALIPER_PRODUCER_MESSAGE_TIMEOUT_MS": "5000",
    }
    proc, _ = s.start(log=log, **fast_fail)
    assert proc.wait(45) == 1, log.read_text()[-3000:]
    text = log.read_text()
    assert "permanent failure" in text
    # The dead letter at offset 0 was delivered; nothing at or after the first envelope is committed.
    committed = committed_offsets(s.bootstrap, s.group, s.input, 1)[0]
    assert committed in (-1001, 0, 1), committed
    assert len(read_all(s.bootstrap, s.dlq)) == 1

    # Once the topics exist, a restart delivers everything from the last commit.
    s.create_outputs(partitions=1)
    again, _ = s.start("--exit-when-drained", log=log)
    assert again.wait(60) == 0, log.read_text()[-3000:]
    assert sum(len(read_all(s.bootstrap, s.output(p))) for p in PROFILES) == len(good)


def test_health_reports_not_ready_before_assignment(stack, tmp_path: Path) -> None:
    s = stack(partitions=1)
    proc, port = s.start(log=tmp_path / "w.log", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")  # nothing listens
    wait_for(lambda: metrics_or_none(port), 20, "the HTTP server")
    assert scrape(port, "/readyz")[0] == 503
    assert scrape(port, "/healthz")[0] == 200  # alive and polling, just not ready
    assert scrape(port, "/nope")[0] == 404
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_a_second_worker_joining_takes_partitions_without_loss_or_duplicates(stack, tmp_path: Path) -> None:
    n = 20_000
    s = stack(partitions=4)
    inputs = numbered_inputs(n)
    produce(s.bootstrap, s.input, inputs[: n // 2])
    settings = {"CALIPER_PROCESSOR_MAX_IN_FLIGHT": "1000", "CALIPER_CONSUMER_SESSION_TIMEOUT_MS": "6000"}
    a, port_a = s.start(log=tmp_path / "a.log", **settings)
    wait_for(lambda: consumed(port_a) >= n * 0.15, 45, "worker A under way")
    b, port_b = s.start(log=tmp_path / "b.log", **settings)

    def assigned(port: int) -> float:
        m = metrics_or_none(port)
        return m.get(("caliper_assigned_partitions", ()), 0) if m else 0

    # cooperative-sticky: A gives up some partitions (revoke: flush and commit) and B takes them
    wait_for(
        lambda: assigned(port_b) > 0 and assigned(port_a) + assigned(port_b) == 4, 30, "partitions shared"
    )
    produce(s.bootstrap, s.input, inputs[n // 2 :])  # the second half is shared between the two
    wait_for(lambda: consumed(port_a) + consumed(port_b) >= n, 45, "all input consumed by the two")
    ma, mb = metrics_or_none(port_a), metrics_or_none(port_b)
    assert ma[("caliper_rebalances_total", (("kind", "revoked"),))] >= 1
    for proc in (a, b):
        proc.send_signal(signal.SIGTERM)
    assert a.wait(30) == 0 and b.wait(30) == 0
    seen = output_marks(s)
    assert [i for i in range(n) if seen[i] != 1] == []
    assert consumed(port_a) == 0  # both stopped; the counts above came from the running workers
    assert mb[("caliper_inputs_consumed_total", ())] > 0


def test_stalled_deliveries_pause_the_input_and_it_resumes_without_loss(stack, tmp_path: Path) -> None:
    n = 500
    s = stack(partitions=2, outputs=False)  # outputs are created only later: deliveries wait until then
    produce(s.bootstrap, s.input, numbered_inputs(n))
    log = tmp_path / "worker.log"
    proc, port = s.start(
        "--exit-when-drained",
        log=log,
        CALIPER_PROCESSOR_MAX_IN_FLIGHT="20",
        CALIPER_PRODUCER_TOPIC_METADATA_PROPAGATION_MAX_MS="60000",
    )

    def at_limit():
        m = metrics_or_none(port)
        return m and m[("caliper_in_flight_inputs", ())] == 20

    wait_for(at_limit, 30, "in-flight work at the limit")
    wait_for(lambda: "pausing the input partitions" in log.read_text(), 15, "the consumer paused")
    assert consumed(port) <= 20 + 1
    s.create_outputs(partitions=1)
    assert proc.wait(60) == 0, log.read_text()[-3000:]
    assert "resuming" in log.read_text()
    seen = output_marks(s)
    assert [i for i in range(n) if seen[i] != 1] == []
