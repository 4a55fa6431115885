"""The per-event path, shared by every delivery guarantee: decode, privacy and map (the
transformer), validate, route, serialize, then hand the record to the delivery strategy
(`processor.delivery`) that produces it.

Each input ends as exactly one of: an envelope, a dead letter (with `__connect.errors.*` headers), an
unmapped copy, or a counted skip. The strategy decides how outputs are produced and when offsets are
committed; this module knows nothing of commits or transactions.

The loop is kept to plain local operations: metric tallies are plain ints and Counters (see
`processor.tallies`), the mapping-duration histogram is counted inline, and the strategy's
`envelope` method is fetched once per batch.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from functools import partial
from time import perf_counter
from typing import TYPE_CHECKING, Any

import orjson
from confluent_kafka import Message

from mappings.errors import MappingError, UnmappedEventError
from processor import dlq
from processor.routing import Router, routing_key

if TYPE_CHECKING:
    from processor.config import Config
    from processor.delivery.base import Delivery
    from processor.metrics import Metrics
    from processor.tallies import Tallies

DEAD, UNMAPPED = 1, 2  # kinds of non-envelope output


def _json(topic: str, envelope: dict[str, Any]) -> bytes:
    return orjson.dumps(envelope)


class Pipeline:
    """Turns a batch of input records into produce calls on a `Delivery`."""

    def __init__(
        self,
        config: Config,
        *,
        transformer: Any,
        metrics: Metrics,
        tallies: Tallies,
        serializer: Any = None,
        on_consume_error: Callable[[Any], None],
    ) -> None:
        p = config.processor
        self._transform = transformer.transform
        self._validate = None
        if p["validate"]:
            from mappings.validator import validate_envelope

            self._validate = partial(validate_envelope, tolerant=not p["strict"])
        self.router = Router(config)
        # An object with `serialize(topic, envelope) -> bytes`; None: compact JSON through orjson.
        self._serialize = serializer.serialize if serializer is not None else _json
        self.on_consume_error = on_consume_error
        self.metrics = metrics
        self.tallies = tallies
        self._dlq_topic = config.topics["dlq"]
        self._unmapped_topic = config.topics["unmapped"]
        self._unmapped_to_topic = p["unmapped"] == "topic"
        self._max_bytes = p["max_record_bytes"]

    def handle(self, msgs: list[Message], sink: Delivery) -> int:
        """Map and hand on one batch; returns how many inputs were taken (the rest stay unconsumed
        as far as commits go when the sink halts mid-batch: a restart or rewind reads them again)."""
        transform, validate = self._transform, self._validate
        serialize = self._serialize
        topic_for = self.router.topic
        envelope = sink.envelope
        hist = self.metrics.mapping_duration
        counts, bounds = hist.counts, hist.bounds
        spent = 0.0  # mapping seconds of this batch, added to the histogram's sum once
        max_bytes = self._max_bytes
        perf = perf_counter
        consumed = 0
        for msg in msgs:
            if sink.halted:
                break
            err = msg.error()
            if err is not None:
                self.on_consume_error(err)
                continue
            consumed += 1
            value = msg.value()
            if value is None:  # a tombstone: no event to map; counted, not a failure
                sink.skip(msg)
                self.tallies.skipped["tombstone"] += 1
                continue
            if len(value) > max_bytes:
                self.dead_letter(msg, sink, "size", "RecordTooLarge", f"input of {len(value)} bytes")
                continue
            t0 = perf()
            try:
                out = transform(value)
            except UnmappedEventError as exc:
                took = perf() - t0
                counts[bisect_left(bounds, took)] += 1
                spent += took
                self.unmapped(msg, sink, exc.event_name)
                continue
            except MappingError as exc:
                took = perf() - t0
                counts[bisect_left(bounds, took)] += 1
                spent += took
                self.dead_letter(msg, sink, exc.stage, dlq.class_name(exc), exc.reason)
                continue
            except Exception as exc:  # a mapping bug must not stop the stream: dead-letter it
                self.dead_letter(msg, sink, "map", dlq.class_name(exc), str(exc) or repr(exc))
                continue
            env = out.envelope
            if validate is not None:
                violations = validate(env)
                if violations:
                    text = "; ".join(str(v) for v in violations[:10])
                    self.dead_letter(msg, sink, "validate", "mappings.validator.Violation", text)
                    continue
            out_topic = topic_for(out.profile, out.event_name)
            try:
                payload = serialize(out_topic, env)
            except Exception as exc:
                self.dead_letter(msg, sink, "serialize", dlq.class_name(exc), str(exc) or repr(exc))
                continue
            took = perf() - t0
            counts[bisect_left(bounds, took)] += 1
            spent += took
            if len(payload) > max_bytes:
                self.dead_letter(msg, sink, "size", "RecordTooLarge", f"envelope of {len(payload)} bytes")
                continue
            event = out.event
            # The key comes from the envelope, so with pseudonymous users it is the hashed actor id.
            # eventTime is parsed only once the envelope is done (processor.tallies), in a batch.
            envelope(msg, out_topic, payload, routing_key(event), out.profile, event.get("eventTime"))
        hist.sum += spent
        self.tallies.consumed += consumed
        return consumed

    def dead_letter(self, msg: Message, sink: Delivery, stage: str, cls: str, reason: str) -> None:
        if stage == "size":
            reason = f"{reason} is over processor.max_record_bytes ({self._max_bytes})"
        headers = dlq.error_headers(
            msg.headers(),
            stage=stage,
            exc_class=cls,
            message=reason,
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
        )
        sink.side(msg, DEAD, stage, self._dlq_topic, headers)

    def unmapped(self, msg: Message, sink: Delivery, event_name: str) -> None:
        if not self._unmapped_to_topic:
            sink.skip(msg)
            self.tallies.skipped["unmapped"] += 1
            return
        headers = dlq.unmapped_headers(
            msg.headers(),
            event_name=event_name,
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
        )
        sink.side(msg, UNMAPPED, event_name, self._unmapped_topic, headers)
