"""End to end against a real broker: every kind of input, where each output lands, balanced metrics."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import orjson

from .conftest import (
    PROFILE_OF_TYPE,
    PROFILES,
    bad_samples,
    metric_values,
    produce,
    read_all,
    sample_events,
    scrape,
    total,
    wait_for,
)

MAX_BYTES = 20_000


def expected_key(event: dict) -> bytes | None:
    actor, group = event.get("actor"), event.get("group")
    if isinstance(actor, dict) and actor.get("type") == "Person" and actor.get("id"):
        return actor["id"].encode()
    if isinstance(group, dict) and group.get("id"):
        return group["id"].encode()
    return None


def test_every_kind_of_input_ends_where_it_should(stack, tmp_path: Path) -> None:
    s = stack(partitions=3)
    good = sample_events()
    assert len(good) >= 30
    oversize = orjson.dumps(
        {"metadata": {"event_name": "logged_in"}, "body": {"pad": "x" * (MAX_BYTES + 100)}}
    )
    # (value, expected fate) for everything we send; keys and headers are per record
    inputs: list[tuple[bytes | None, str]] = [(v, "envelope") for v in good]
    fates = {
        "conversation_created": "unmapped",
        "module_created": "unmapped",
        "content_migration_completed": "unmapped",
    }
    for v in bad_samples():
        obj = orjson.loads(v)
        name = obj.get("metadata", {}).get("event_name") if isinstance(obj, dict) else None
        inputs.append((v, fates.get(name, "dead")))
    inputs += [(b"\xff\xfe this is not JSON", "dead"), (oversize, "dead"), (None, "skipped")]
    records = [(f"key-{i}".encode(), v, [("trace", f"t-{i}".encode())]) for i, (v, _) in enumerate(inputs)]
    where = produce(s.bootstrap, s.input, records)
    fate_count = Counter(f for _, f in inputs)

    proc, port = s.start(log=tmp_path / "worker.log", CALIPER_PROCESSOR_MAX_RECORD_BYTES=str(MAX_BYTES))

    def settled():
        try:
            m = metric_values(scrape(port)[1])
        except OSError:
            return None
        done = total(m, "caliper_envelopes_produced_total") + total(m, "caliper_dead_letters_total")
        done += total(m, "caliper_unmapped_total") + total(m, "caliper_skipped_total")
        ok = m[("caliper_inputs_consumed_total", ())] == len(inputs) and done == len(inputs)
        return m if ok and m[("caliper_in_flight_inputs", ())] == 0 else None

    m = wait_for(settled, 45, "all inputs accounted for in /metrics")
    assert scrape(port, "/healthz")[0] == 200
    status, body = scrape(port, "/readyz")
    assert status == 200, body
    assert m[("caliper_assigned_partitions", ())] == 3
    assert m[("caliper_rebalances_total", (("kind", "assigned"),))] >= 1
    assert m[("caliper_mapping_duration_seconds_count", ())] >= len(good)
    assert m[("caliper_end_to_end_lag_seconds_count", ())] == len(good)
    assert m[("caliper_produce_errors_total", ())] == 0
    # The balance the design promises: consumed = produced + dead letters + unmapped + skipped.
    assert total(m, "caliper_envelopes_produced_total") == fate_count["envelope"]
    assert total(m, "caliper_dead_letters_total") == fate_count["dead"]
    assert total(m, "caliper_unmapped_total") == fate_count["unmapped"] == 3
    assert total(m, "caliper_skipped_total") == fate_count["skipped"] == 1
    assert m[("caliper_dead_letters_total", (("stage", "decode"),))] == 2
    assert m[("caliper_dead_letters_total", (("stage", "unwrap"),))] == 2
    assert m[("caliper_dead_letters_total", (("stage", "map"),))] == 2
    assert m[("caliper_dead_letters_total", (("stage", "size"),))] == 1
    assert m[("caliper_unmapped_total", (("event_name", "module_created"),))] == 1
    # consumer lag arrives with librdkafka statistics (every second here) and drops to zero
    wait_for(
        lambda: (
            lambda v: any(n == "caliper_consumer_lag" for n, _ in v) and total(v, "caliper_consumer_lag") == 0
        )(metric_values(scrape(port)[1])),
        15,
        "consumer lag gauges at zero",
    )

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0

    # Envelopes: on the topic of their profile, keyed by the Person actor else the course/group.
    envelopes = []
    for profile in PROFILES:
        for r in read_all(s.bootstrap, s.output(profile)):
            env = orjson.loads(r.value)
            event = env["data"][0]
            assert set(env) == {"sensor", "sendTime", "dataVersion", "data"}
            assert PROFILE_OF_TYPE[event["type"]] == profile, (event["type"], profile)
            assert r.key == expected_key(event)
            envelopes.append(event)
    assert len(envelopes) == fate_count["envelope"]
    assert len({e["id"] for e in envelopes}) == len(envelopes)
    assert sum(1 for e in envelopes if expected_key(e) is not None) >= len(envelopes) * 0.8

    # Dead letters: the original record unchanged plus the Connect-style error headers.
    by_value = {v: i for i, (v, _) in enumerate(inputs) if v is not None}
    dead = read_all(s.bootstrap, s.dlq)
    assert len(dead) == fate_count["dead"]
    stages = Counter()
    for r in dead:
        i = by_value[r.value]
        assert inputs[i][1] == "dead"
        assert r.key == f"key-{i}".encode()
        assert r.headers[0] == ("trace", f"t-{i}".encode())
        h = dict(r.headers)
        assert h["__connect.errors.topic"] == s.input.encode()
        assert (int(h["__connect.errors.partition"]), int(h["__connect.errors.offset"])) == where[i]
        assert h["__connect.errors.exception.class.name"]
        assert h["__connect.errors.exception.message"]
        assert int(h["__connect.errors.timestamp"]) > 1_700_000_000_000
        stages[h["__connect.errors.stage"].decode()] += 1
    assert stages == {"decode": 2, "unwrap": 2, "map": 2, "size": 1}

    # Unmapped: copied unchanged, with the event name.
    unmapped = read_all(s.bootstrap, s.unmapped)
    assert sorted(dict(r.headers)["caliper.unmapped.event_name"] for r in unmapped) == [
        b"content_migration_completed",
        b"conversation_created",
        b"module_created",
    ]
    for r in unmapped:
        assert r.key == f"key-{by_value[r.value]}".encode()


def test_unmapped_skip_policy_counts_and_drops(stack, tmp_path: Path) -> None:
    s = stack(partitions=1)
    bad = [v for v in bad_samples() if b"conversation_created" in v or b"module_created" in v]
    good = sample_events()[:3]
    produce(s.bootstrap, s.input, [(None, v, None) for v in [*bad, *good]])
    proc, _ = s.start("--exit-when-drained", log=tmp_path / "w.log", CALIPER_PROCESSOR_UNMAPPED="skip")
    assert proc.wait(45) == 0, (tmp_path / "w.log").read_text()[-2000:]
    assert read_all(s.bootstrap, s.unmapped) == []
    assert sum(len(read_all(s.bootstrap, s.output(p))) for p in PROFILES) == 3


def test_in_flight_work_stays_bounded_and_nothing_is_lost(stack, tmp_path: Path) -> None:
    s = stack(partitions=2)
    good = sample_events()
    n = 3000
    records = []
    for i in range(n):
        obj = orjson.loads(good[i % len(good)])
        obj["metadata"]["request_id"] = f"bounded-{i}"
        records.append((None, orjson.dumps(obj), None))
    produce(s.bootstrap, s.input, records)
    limit = 25
    proc, port = s.start(
        "--strict",
        "--validate",
        log=tmp_path / "w.log",
        CALIPER_PROCESSOR_MAX_IN_FLIGHT=str(limit),
        CALIPER_PRODUCER_LINGER_MS="20",  # slow acknowledgements, so the limit is reached
    )
    peak = 0.0

    def done():
        nonlocal peak
        try:
            m = metric_values(scrape(port)[1])
        except OSError:
            return False
        peak = max(peak, m[("caliper_in_flight_inputs", ())])
        return total(m, "caliper_envelopes_produced_total") >= n

    wait_for(done, 50, "every envelope acknowledged", interval=0.05)
    assert 0 < peak <= limit
    m = metric_values(scrape(port)[1])
    assert total(m, "caliper_dead_letters_total") == 0  # strict envelopes pass strict validation
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    values = [r.value for p in PROFILES for r in read_all(s.bootstrap, s.output(p))]
    assert len(values) == n
    assert {
        orjson.loads(v)["data"][0]["extensions"]["com.instructure.canvas"]["request_id"] for v in values
    } == {f"bounded-{i}" for i in range(n)}


def test_a_record_too_big_even_for_the_dead_letter_topic_keeps_its_headers(stack, tmp_path: Path) -> None:
    s = stack(partitions=1, outputs=False)
    big = orjson.dumps({"metadata": {"event_name": "logged_in"}, "body": {"pad": "y" * 9000}})
    produce(s.bootstrap, s.input, [(b"big-key", big, [("trace", b"t-big")])])
    proc, _ = s.start(
        "--exit-when-drained",
        log=tmp_path / "w.log",
        CALIPER_PROCESSOR_MAX_RECORD_BYTES="2000",
        CALIPER_PRODUCER_MESSAGE_MAX_BYTES="4000",
    )
    assert proc.wait(45) == 0, (tmp_path / "w.log").read_text()[-2000:]
    [dead] = read_all(s.bootstrap, s.dlq)
    assert dead.key == b"big-key" and dead.value is None
    h = dict(dead.headers)
    assert h["trace"] == b"t-big"
    assert h["__connect.errors.stage"] == b"size"
    assert h["__connect.errors.value.dropped"] == b"true"
    assert b"max_record_bytes" in h["__connect.errors.exception.message"]
