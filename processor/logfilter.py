"""Condense the Kafka clients' retry noise: one line per kind of trouble per interval, not per retry.

While a broker is away librdkafka retries its connections every few hundred milliseconds and reports
each failure twice, as a log line (logger `processor.kafka`) and through the error callback (the
worker's "kafka client error" line): about 1,100 lines in a 25 s outage. Both are kept, but a line
that says the same thing as one already written within `interval_s` is dropped and counted; the next
one written after the interval carries `repeated` (how many were dropped meanwhile). "The same thing"
ignores numbers and librdkafka's client and thread tags, which change from retry to retry.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

# Records of these loggers, or with these messages, are condensed; everything else passes untouched.
CONDENSED_LOGGERS = frozenset({"processor.kafka"})
CONDENSED_MESSAGES = frozenset({"kafka client error"})
INTERVAL_S = 60.0
MAX_KINDS = 1000  # bounds the memory of the filter if messages vary without end

_TAGS = re.compile(r"\[(?:rdkafka#|thrd:)[^\]]*\]")
_NUMBERS = re.compile(r"\d+")


def kind(text: str) -> str:
    """What a message says, without the parts that change from one retry to the next."""
    return _NUMBERS.sub("#", _TAGS.sub("", text)).strip()


class RepeatFilter(logging.Filter):
    """A handler filter: the first line of a kind passes, repeats within `interval_s` are counted."""

    def __init__(self, interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[tuple, tuple[float, int]] = {}  # kind -> (when last written, dropped since)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name not in CONDENSED_LOGGERS and record.msg not in CONDENSED_MESSAGES:
            return True
        fields = getattr(record, "fields", None) or {}
        key = (
            record.name,
            record.levelno,
            kind(record.getMessage()),
            kind(str(fields.get("error", ""))),
            fields.get("code"),
        )
        now = self.clock()
        seen = self._last.get(key)
        if seen is not None and now - seen[0] < self.interval_s:
            self._last[key] = (seen[0], seen[1] + 1)
            return False
        if len(self._last) >= MAX_KINDS:
            self._last.clear()
        self._last[key] = (now, 0)
        if seen is not None and seen[1]:
            record.fields = {**fields, "repeated": seen[1]}
        return True
