"""Hostile input through a real worker and broker: dead letters with reasons, no crash, stall or blow-up."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
from confluent_kafka import Producer
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

from .conftest import PROFILES, metric_values, read_all, sample_events, scrape, total, wait_for

TEN_MB = 10 * 1024 * 1024
RSS_LIMIT_MB = 300  # peak (VmHWM) after 10 MB records; an idle worker is about 100 MB


def event(body_literal: bytes) -> bytes:
    return b'{"metadata":{"event_name":"logged_in","event_time":"2026-09-07T14:03:11Z"},"body":{"x":' + (
        body_literal + b"}}"
    )


def at(raw: bytes, part: bytes) -> int:
    return raw.index(part)


def hostile_records() -> dict[str, tuple[bytes | None, str, str]]:
    """case -> (value, stage, reason); the reasons are written out, offsets read off the test's own bytes."""
    cases: dict[str, tuple[bytes | None, str, str]] = {}

    def add(name: str, raw: bytes, stage: str, reason: str) -> None:
        cases[name] = (raw, stage, reason)

    raw = event(b"123456789012345678901234567890")
    add("wide-int", raw, "decode", "input has an integer beyond 64 bits: 123456789012345678901234567890")
    raw = event(b"-9223372036854775809")
    add("wide-negative", raw, "decode", "input has an integer beyond 64 bits: -9223372036854775809")
    raw = event(b"[" * 100_000 + b"]" * 100_000)
    add(
        "depth-100000",
        raw,
        "decode",
        f"input is nested deeper than 1024 arrays or objects (at char {at(raw, b'[') + 1023})",
    )
    raw = event(b'"caf\xe9"')
    bad = at(raw, b"\xe9")
    add("bad-utf8", raw, "decode", f"input is not valid UTF-8 (byte 0xe9 at offset {bad})")
    raw = event(b'"\\ud800"')
    lone = at(raw, b"\\ud800")
    add(
        "lone-surrogate",
        raw,
        "decode",
        f"input has a lone surrogate escape (\\ud800-\\udfff) in a string (at char {lone})",
    )
    for lit in (b"NaN", b"Infinity"):
        raw = event(lit)
        add(
            lit.decode(),
            raw,
            "decode",
            f"input has NaN or Infinity, which are not JSON numbers (at char {at(raw, lit)})",
        )
    add(
        "list", b'[{"metadata":{"event_name":"logged_in"}}]', "decode", "input is a JSON array, not an object"
    )
    add("string", b'"logged_in"', "decode", "input is a JSON string, not an object")
    add("number", b"12", "decode", "input is a JSON number, not an object")
    add("null", b"null", "decode", "input is a JSON null, not an object")
    add("empty", b"", "decode", "input is empty")
    add(
        "body-list",
        b'{"metadata":{"event_name":"logged_in"},"body":[1]}',
        "unwrap",
        "body must be an object, got array",
    )
    big = event(b'"' + b"x" * TEN_MB + b'"')
    add("10MB-string", big, "size", f"input of {len(big)} bytes is over processor.max_record_bytes (1000000)")
    arr = event(b"[" + b"0," * 999_999 + b"0]")
    add("1M-array", arr, "size", f"input of {len(arr)} bytes is over processor.max_record_bytes (1000000)")
    return cases


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes | None]]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 12_000_000, "linger.ms": 5})
    for key, value in records:
        p.produce(topic, value, key)
        p.poll(0)
    assert p.flush(60) == 0


def _valid(tag: str) -> list[tuple[bytes, bytes]]:
    out = []
    for i, line in enumerate(sample_events()):
        obj = orjson.loads(line)
        obj["metadata"]["request_id"] = f"{tag}-{i}"
        out.append((f"{tag}-{i}".encode(), orjson.dumps(obj)))
    return out


def test_hostile_records_become_dead_letters_and_the_worker_goes_on(stack, admin, tmp_path: Path) -> None:
    s = stack(partitions=1)
    # The input topic takes 12 MB records (a broker's default is 1 MB), so the 10 MB ones reach the worker.
    res = ConfigResource(
        ConfigResource.Type.TOPIC,
        s.input,
        incremental_configs=[
            ConfigEntry("max.message.bytes", "12000000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    for fut in admin.incremental_alter_configs([res]).values():
        fut.result(30)
    cases = hostile_records()
    before, after = _valid("before"), _valid("after")
    deep_ok = (b"h-depth-1000", event(b"[" * 1000 + b"]" * 1000))  # within the limit: maps
    dup = (b"h-duplicate", event(b"1").replace(b'"x":1', b'"x":1,"x":2'))  # last value wins: maps
    records = [
        *before[:10],
        *[(b"h-" + name.encode(), value) for name, (value, _, _) in cases.items()],
        (b"h-tombstone", None),
        deep_ok,
        dup,
        *before[10:],
    ]
    _produce(s.bootstrap, s.input, records)
    log = tmp_path / "worker.log"
    proc, port = s.start(log=log)

    def mapped() -> float:
        try:
            return total(metric_values(scrape(port)[1]), "caliper_envelopes_produced_total")
        except OSError:
            return 0

    wait_for(lambda: mapped() >= len(before) + 2, 90, "the valid inputs mapped")
    assert proc.poll() is None, log.read_text()[-2000:]

    dead = {r.key.decode(): r for r in read_all(s.bootstrap, s.dlq)}
    assert set(dead) == {f"h-{name}" for name in cases}
    for name, (value, stage, reason) in cases.items():
        h = dict(dead[f"h-{name}"].headers)
        assert h["__connect.errors.stage"] == stage.encode(), name
        assert h["__connect.errors.exception.message"].decode() == reason, name
        if stage == "size" and len(value) > 1_064_000:  # over the dead-letter producer's message.max.bytes
            assert dead[f"h-{name}"].value is None and h["__connect.errors.value.dropped"] == b"true", name
        else:
            assert dead[f"h-{name}"].value == value, name

    # No stall: inputs sent after the hostile ones are mapped too, by the same process.
    _produce(s.bootstrap, s.input, after)
    wait_for(lambda: mapped() >= len(before) + 2 + len(after), 60, "inputs after the hostile ones mapped")
    assert proc.poll() is None
    peak = _peak_rss_mb(proc.pid)
    assert peak < RSS_LIMIT_MB, f"peak RSS {peak:.0f} MB"
    envelopes = [r for p in PROFILES for r in read_all(s.bootstrap, s.output(p))]
    keys = {
        orjson.loads(r.value)["data"][0]["extensions"]["com.instructure.canvas"].get("request_id")
        for r in envelopes
    }
    assert {f"before-{i}" for i in range(len(before))} | {f"after-{i}" for i in range(len(after))} <= keys
    assert len(envelopes) == len(before) + len(after) + 2
    m = metric_values(scrape(port)[1])
    assert total(m, "caliper_dead_letters_total") == len(cases)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    print(f"worker peak RSS {peak:.0f} MB")
