"""Log output: one JSON object per line off a terminal, a short human line on one."""

from __future__ import annotations

import io
import logging

import orjson

from processor import logs


def test_json_lines_carry_message_level_and_fields() -> None:
    out = io.StringIO()  # not a TTY: auto means JSON
    logs.setup("auto", "INFO", stream=out)
    try:
        log = logging.getLogger("processor.test")
        log.info("partitions assigned", extra={"fields": {"partitions": ["in[0]"], "msg": "clash"}})
        log.debug("not shown at INFO")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        logs.setup("text", "WARNING", stream=io.StringIO())
    lines = out.getvalue().splitlines()
    first = orjson.loads(lines[0])
    assert first["msg"] == "partitions assigned" and first["level"] == "info"
    assert first["partitions"] == ["in[0]"] and first["field_msg"] == "clash"
    assert first["ts"].endswith("Z")
    second = orjson.loads(lines[1])
    assert second["level"] == "error" and "ValueError: boom" in second["exc"]
    assert len(lines) == 2


def test_text_format_is_one_readable_line() -> None:
    out = io.StringIO()
    logs.setup("text", "INFO", stream=out)
    try:
        logging.getLogger("processor.test").warning("commit failed", extra={"fields": {"error": "x"}})
    finally:
        logs.setup("text", "WARNING", stream=io.StringIO())
    line = out.getvalue().strip()
    assert "WARNING" in line and "commit failed" in line and "error=x" in line
    assert not line.startswith("{")
