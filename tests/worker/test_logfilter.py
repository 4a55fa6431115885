"""The repeat filter: Kafka client retry noise condensed to one line per kind of trouble per interval."""

from __future__ import annotations

import io
import logging

import orjson

from processor import logs
from processor.logfilter import RepeatFilter, kind

REFUSED = (
    "FAIL [rdkafka#consumer-2] [thrd:127.0.0.1:9/bootstrap]: 127.0.0.1:9/bootstrap: "
    "Connect to ipv4#127.0.0.1:9 failed: Connection refused (after {n}ms in state CONNECT)"
)


def _record(name: str, msg: str, fields: dict | None = None, level: int = logging.WARNING):
    rec = logging.LogRecord(name, level, __file__, 1, msg, None, None)
    if fields is not None:
        rec.fields = fields
    return rec


def test_kind_ignores_numbers_and_client_tags() -> None:
    a = kind(REFUSED.format(n=0))
    b = kind(REFUSED.format(n=12).replace("consumer-2", "producer-1"))
    assert a == b
    assert "Connection refused" in a
    assert kind("Connection refused") != kind("Connection reset by peer")


def test_repeats_within_the_interval_are_dropped_then_counted() -> None:
    now = [100.0]
    f = RepeatFilter(interval_s=60, clock=lambda: now[0])
    passed = []
    for i in range(50):  # 50 retries in 25 s
        now[0] = 100.0 + i * 0.5
        rec = _record("processor.kafka", REFUSED.format(n=i), level=logging.ERROR)
        if f.filter(rec):
            passed.append(rec)
    assert len(passed) == 1
    now[0] = 170.0
    later = _record("processor.kafka", REFUSED.format(n=3), level=logging.ERROR)
    assert f.filter(later)
    assert later.fields == {"repeated": 49}


def test_error_callback_lines_are_condensed_by_error_and_code() -> None:
    f = RepeatFilter(interval_s=60, clock=lambda: 0.0)
    refused = {
        "client": "consumer",
        "error": "127.0.0.1:9/bootstrap: Connection refused",
        "code": "_TRANSPORT",
    }
    down = {"client": "consumer", "error": "1/1 brokers are down", "code": "_ALL_BROKERS_DOWN"}
    results = [
        f.filter(_record("processor.worker", "kafka client error", refused)),
        f.filter(_record("processor.worker", "kafka client error", {**refused, "client": "producer"})),
        f.filter(_record("processor.worker", "kafka client error", down)),
        f.filter(_record("processor.worker", "kafka client error", down)),
    ]
    assert results == [True, False, True, False]


def test_other_lines_pass_untouched() -> None:
    f = RepeatFilter(interval_s=60, clock=lambda: 0.0)
    for _ in range(3):
        rec = _record("processor.worker", "commit failed; will retry", {"error": "x"})
        assert f.filter(rec)
        assert rec.fields == {"error": "x"}


def test_setup_installs_the_filter_on_the_log_handler() -> None:
    out = io.StringIO()
    logs.setup("json", "INFO", stream=out)
    try:
        kafka = logging.getLogger("processor.kafka")
        for n in range(20):
            kafka.error(REFUSED.format(n=n))
        logging.getLogger("processor.test").info("unrelated")
    finally:
        logs.setup("text", "WARNING", stream=io.StringIO())
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [rec["logger"] for rec in lines] == ["processor.kafka", "processor.test"]
