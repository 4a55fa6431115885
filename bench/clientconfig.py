"""Consumer and producer settings shared by the Kafka contenders that the bench itself writes.

They are the worker's own defaults (processor/config.py), so the passthrough ceiling and the Quix
Streams application fetch, batch and compress the way the worker does; only the processing differs.
"""

from __future__ import annotations

CONSUMER = {
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "partition.assignment.strategy": "cooperative-sticky",
}

PRODUCER = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "compression.type": "lz4",
}

CONSUME_BATCH = 500  # records per Consumer.consume() call, the worker's processor.batch_size
COMMIT_INTERVAL_S = 1.0  # the worker's processor.commit_interval_s
