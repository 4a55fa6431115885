"""Dead letters and unmapped copies: the original record, unchanged, plus headers naming the error.

The header names are Kafka Connect's (`__connect.errors.*`), which tools and people already know;
`__connect.errors.timestamp` (milliseconds since the epoch) is ours. Stages: decode, unwrap, map,
validate, serialize, produce, size.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from processor.secrets import redact

Headers = list[tuple[str, bytes]]

STAGE = "__connect.errors.stage"
CLASS = "__connect.errors.exception.class.name"
MESSAGE = "__connect.errors.exception.message"
TOPIC = "__connect.errors.topic"
PARTITION = "__connect.errors.partition"
OFFSET = "__connect.errors.offset"
TIMESTAMP = "__connect.errors.timestamp"
UNMAPPED_EVENT = "caliper.unmapped.event_name"
# Set when the original value was too large even for the dead-letter topic and had to be left out.
VALUE_DROPPED = "__connect.errors.value.dropped"

STAGES = ("decode", "unwrap", "map", "validate", "serialize", "produce", "size")
MAX_MESSAGE_BYTES = 4096


def _original(headers: Sequence[tuple[str, bytes | None]] | None) -> Headers:
    # librdkafka hands out header values as bytes or None; keep them as they came.
    return [(k, v if v is not None else b"") for k, v in headers] if headers else []


def error_headers(
    original: Sequence[tuple[str, bytes | None]] | None,
    *,
    stage: str,
    exc_class: str,
    message: str,
    topic: str,
    partition: int,
    offset: int,
    now_ms: int | None = None,
) -> Headers:
    """The original headers followed by the error headers (appended, so the originals keep order)."""
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    text = redact(message).encode("utf-8", "replace")[:MAX_MESSAGE_BYTES]  # no secret in a header
    return [
        *_original(original),
        (STAGE, stage.encode()),
        (CLASS, exc_class.encode()),
        (MESSAGE, text),
        (TOPIC, topic.encode()),
        (PARTITION, str(partition).encode()),
        (OFFSET, str(offset).encode()),
        (TIMESTAMP, str(now_ms).encode()),
    ]


def unmapped_headers(
    original: Sequence[tuple[str, bytes | None]] | None,
    *,
    event_name: str,
    topic: str,
    partition: int,
    offset: int,
) -> Headers:
    """An unmapped copy keeps the original record and says which name had no mapping and whence."""
    return [
        *_original(original),
        (UNMAPPED_EVENT, event_name.encode("utf-8", "replace")),
        (TOPIC, topic.encode()),
        (PARTITION, str(partition).encode()),
        (OFFSET, str(offset).encode()),
    ]


def class_name(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"
