"""Consumer and producer settings shared by the Kafka contenders that the bench itself writes.

They are read from the worker's own defaults (processor/config.py), so the passthrough ceiling and
the Quix Streams application fetch, batch and compress the way the worker does; only the processing
differs. Keys each contender sets for itself (brokers, group) are left out.
"""

from __future__ import annotations

from processor.config import load

_DEFAULTS = load(None, env={})
_OWN_KEYS = {
    "bootstrap.servers",
    "group.id",
    "statistics.interval.ms",
    "enable.auto.offset.store",
    "message.max.bytes",
}

CONSUMER = {k: v for k, v in _DEFAULTS.consumer_config().items() if k not in _OWN_KEYS}
PRODUCER = {k: v for k, v in _DEFAULTS.producer_config().items() if k not in _OWN_KEYS}

CONSUME_BATCH: int = _DEFAULTS.processor["batch_size"]  # records per Consumer.consume() call
COMMIT_INTERVAL_S: float = _DEFAULTS.processor["commit_interval_s"]
