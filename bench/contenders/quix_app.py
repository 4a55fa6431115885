"""The worker's job as a Quix Streams application: the same Transformer, routed by profile, at-least-once.

Runs in its own virtualenv (Quix Streams pins an older confluent-kafka than the project), with the
repository on PYTHONPATH for `mappings`. Written the way Quix recommends: one StreamingDataFrame,
`apply` for the mapping, `to_topic` with a topic-selecting callable, and `app.run(count=...)` so it
stops, committing its last checkpoint, once every input has produced its output.
"""

from __future__ import annotations

import argparse
import sys
import time

import orjson
from quixstreams import Application
from quixstreams.models.serializers import Serializer

from bench.clientconfig import CONSUMER, PRODUCER
from mappings.errors import MappingError
from mappings.registry import PROFILES
from mappings.transform import Output, Transformer

# Consumer settings Quix Streams manages itself (offset reset, commits, its rebalance protocol).
QUIX_OWNS = ("auto.offset.reset", "enable.auto.commit", "partition.assignment.strategy")


class Failed:
    """An input the mapping rejected: goes to the dead-letter topic unchanged."""

    __slots__ = ("error", "raw")

    def __init__(self, raw: bytes, error: MappingError) -> None:
        self.raw = raw
        self.error = error


class RecordSerializer(Serializer):
    """Envelopes as orjson bytes; rejected inputs as their original bytes."""

    def __call__(self, value, ctx) -> bytes:
        if isinstance(value, Output):
            return orjson.dumps(value.envelope)
        return value.raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output-template", required=True, help="e.g. bench.x.{profile}")
    parser.add_argument("--dlq", required=True)
    parser.add_argument("--unmapped", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--expected", type=int, required=True)
    parser.add_argument("--guarantee", choices=("at-least-once", "exactly-once"), default="at-least-once")
    args = parser.parse_args(argv)

    consumer_config = {k: v for k, v in CONSUMER.items() if k not in QUIX_OWNS}
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee=args.guarantee,
        consumer_extra_config=consumer_config,
        producer_extra_config=dict(PRODUCER),
        auto_create_topics=False,
        use_changelog_topics=False,
        loglevel="WARNING",
    )
    serializer = RecordSerializer()
    source = app.topic(args.input, value_deserializer="bytes", key_deserializer="bytes")
    outputs = {
        p: app.topic(
            args.output_template.format(profile=p), value_serializer=serializer, key_serializer="bytes"
        )
        for p in PROFILES
    }
    dlq = app.topic(args.dlq, value_serializer=serializer, key_serializer="bytes")
    unmapped = app.topic(args.unmapped, value_serializer=serializer, key_serializer="bytes")
    transformer = Transformer()

    def transform(raw: bytes):
        try:
            return transformer.transform(raw)
        except MappingError as exc:
            return Failed(raw, exc)

    def select_topic(value, key, timestamp, headers):
        if isinstance(value, Output):
            return outputs.get(value.profile, outputs["basic"])
        return unmapped if value.error.stage == "unmapped" else dlq

    def route_key(value) -> bytes | None:
        if isinstance(value, Output):
            actor = value.event.get("actor")
            entity = actor if isinstance(actor, dict) else value.event.get("group")
            if isinstance(entity, dict) and isinstance(entity.get("id"), str):
                return entity["id"].encode()
        return None

    sdf = app.dataframe(source)
    sdf = sdf.apply(transform)
    sdf.to_topic(select_topic, key=route_key)
    started = time.monotonic()
    app.run(count=args.expected, collect=False)
    sys.stdout.write(
        orjson.dumps({"consumed": args.expected, "seconds": time.monotonic() - started}).decode()
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
