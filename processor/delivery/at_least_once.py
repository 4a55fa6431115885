"""At-least-once: an input's offset is committed only after every output it produced (envelope,
dead letter or unmapped copy) is acknowledged by the broker.

A crash replays at most the inputs in flight plus those done since the last commit (bounded by
`max_in_flight` + `commit_every`) and never skips one. A permanent produce failure stops the worker
(exit 1) without committing past the failed input, so a restart retries it. Each output carries a
delivery callback (`functools.partial` of a bound method) that acknowledges it in its partition's
`PartitionOffsets`; see docs/performance.md for why this beat a flush-at-checkpoint design.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from processor.delivery.base import Delivery, Headers, Key, Services, mark_progress
from processor.offsets import PartitionOffsets
from processor.pipeline import DEAD

log = logging.getLogger("processor.delivery")


class AtLeastOnce(Delivery):
    name = "at-least-once"

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        p = self.cfg.processor
        self.trackers: dict[Key, PartitionOffsets] = {}
        self._commit_interval = p["commit_interval_s"]
        self._commit_every = p["commit_every"]
        self._next_commit = time.monotonic() + self._commit_interval
        self._done_since_commit = 0
        self.revoke_flush_s = p["shutdown_timeout_s"]

    def consumer_config(self, conf: dict[str, Any]) -> dict[str, Any]:
        conf["on_commit"] = self._on_commit
        return conf

    def _tracker(self, msg: Message) -> PartitionOffsets:
        key = (msg.topic(), msg.partition())
        tracker = self.trackers.get(key)
        if tracker is None:  # not seen through on_assign (should not happen); track it anyway
            tracker = self.trackers[key] = PartitionOffsets(*key)
        return tracker

    # ---- outputs -----------------------------------------------------------------------------

    def envelope(
        self, msg: Message, topic: str, payload: bytes, key: bytes | None, profile: str, event_time: object
    ) -> None:
        tracker = self._tracker(msg)
        offset = msg.offset()
        tracker.add(offset, 1)
        self.in_flight += 1
        cb = partial(self._envelope_delivered, tracker, offset, profile, event_time)
        try:
            self.s.producer.produce(topic, payload, key, -1, cb)  # type: ignore[union-attr]
        except (BufferError, KafkaException):  # queue full, or an error: the careful path
            self.produce_careful(topic, payload, key, None, cb)

    def side(self, msg: Message, kind: int, label: str, topic: str, headers: Headers) -> None:
        tracker = self._tracker(msg)
        offset = msg.offset()
        tracker.add(offset, 1)
        self.in_flight += 1
        cb = partial(self._delivered, tracker, offset, kind, label)
        self.produce_careful(
            topic, msg.value(), msg.key(), headers, cb, stage=label if kind == DEAD else None
        )

    def skip(self, msg: Message) -> None:
        self._tracker(msg).add(msg.offset(), 0)

    def _envelope_delivered(
        self,
        tracker: PartitionOffsets,
        offset: int,
        profile: str,
        event_time: object,
        err: KafkaError | None,
        msg: Message,
    ) -> None:
        """Delivery report of an envelope: the commonest callback, so it only records."""
        if err is not None:
            self._delivery_failed(offset, err, msg)
            return
        tallies = self.tallies
        tallies.produced[profile] += 1
        tallies.acked_times.append(event_time)
        if tracker.ack(offset):
            self.in_flight -= 1
            self._done_since_commit += 1

    def _delivered(
        self,
        tracker: PartitionOffsets,
        offset: int,
        kind: int,
        label: str,
        err: KafkaError | None,
        msg: Message,
    ) -> None:
        """Delivery report of a dead letter or an unmapped copy."""
        if err is not None:
            self._delivery_failed(offset, err, msg)
            return
        (self.tallies.dead if kind == DEAD else self.tallies.unmapped)[label] += 1
        if tracker.ack(offset):
            self.in_flight -= 1
            self._done_since_commit += 1

    def _delivery_failed(self, offset: int, err: KafkaError, msg: Message) -> None:
        self.metrics.produce_errors.inc()
        self.fail(f"delivery to {msg.topic()} failed for input offset {offset}: {err.str()}")

    # ---- commits -----------------------------------------------------------------------------

    def maybe_commit(self, now: float) -> None:
        if now >= self._next_commit or self._done_since_commit >= self._commit_every:
            self.commit()
            self._next_commit = now + self._commit_interval

    def commit_now(self) -> None:
        self.commit(sync=True)

    def commit(self, sync: bool = False, only: list[Key] | None = None) -> None:
        consumer = self.s.consumer
        if consumer is None:
            return
        keys = only if only is not None else list(self.trackers)
        offsets = []
        for key in keys:
            tracker = self.trackers.get(key)
            if tracker is not None:
                off = tracker.committable()
                if off is not None:
                    offsets.append(TopicPartition(key[0], key[1], off))
        self._done_since_commit = 0
        if not offsets:
            return
        try:
            consumer.commit(offsets=offsets, asynchronous=not sync)
        except KafkaException as exc:
            log.warning("commit failed; will retry", extra={"fields": {"error": exc.args[0].str()}})
            return
        for tp in offsets:
            self.trackers[(tp.topic, tp.partition)].mark_committed(tp.offset)
        mark_progress(self)

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if err is None:
            return
        log.warning("asynchronous commit failed; will retry", extra={"fields": {"error": err.str()}})
        for tp in partitions:
            tracker = self.trackers.get((tp.topic, tp.partition))
            if tracker is not None:
                tracker.committed = None  # commit again at the next interval

    def settled(self) -> bool:
        return not self.in_flight and all(t.committable() is None for t in self.trackers.values())

    def positions(self) -> dict[Key, int | None]:
        return {key: t.position for key, t in self.trackers.items()}

    # ---- rebalances --------------------------------------------------------------------------

    def assigned(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.trackers[(tp.topic, tp.partition)] = PartitionOffsets(tp.topic, tp.partition)

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Finish the revoked partitions' work and commit it, so the next owner starts after it."""
        keys = [(tp.topic, tp.partition) for tp in partitions]
        producer = self.s.producer
        if producer is not None and any(self.trackers.get(k) and self.trackers[k].in_flight for k in keys):
            left = producer.flush(0 if self.fatal else self.revoke_flush_s)
            if left:
                log.warning("outputs still undelivered at revoke", extra={"fields": {"undelivered": left}})
        self.tallies.flush()
        self.commit(sync=True, only=keys)  # only what is done: safe even after a failure
        self._drop(keys)

    def lost(self, partitions: list[TopicPartition]) -> None:
        """Another member may own them already: committing now could move its offsets; drop state."""
        self._drop([(tp.topic, tp.partition) for tp in partitions])

    def _drop(self, keys: list[Key]) -> None:
        for key in keys:
            # Reports of their outputs still arrive and ack the dropped tracker (the callbacks hold
            # it), which keeps the in-flight count right.
            self.trackers.pop(key, None)

    # ---- shutdown ----------------------------------------------------------------------------

    def shutdown(self, budget_s: float) -> int:
        producer = self.s.producer
        assert producer is not None
        deadline = time.monotonic() + budget_s
        flush_for = min(5.0, budget_s) if self.fatal else budget_s * 0.8
        left = producer.flush(flush_for)
        self.tallies.flush()
        if left:
            log.warning(
                "outputs not acknowledged at shutdown; their inputs stay uncommitted",
                extra={"fields": {"undelivered": left}},
            )
        # After a permanent failure the broker may be out of reach: a synchronous commit would hold
        # the exit until its request timed out. What is done is committed if the request gets through.
        self.commit(sync=self.fatal is None)
        # The consumer's close() revokes everything; the revoke handler flushes again, within
        # what is left of the budget.
        self.revoke_flush_s = 0.0 if self.fatal else max(0.0, deadline - time.monotonic())
        return left
