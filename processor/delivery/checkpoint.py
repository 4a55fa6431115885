"""At-least-once by checkpoints: outputs carry no delivery callback; at each checkpoint the producer
is flushed and, once nothing is left undelivered, everything consumed before it is committed.

The alternative to `at_least_once`'s per-record tracking (processor.commit_strategy = "checkpoint").
It saves a Python callback and a `functools.partial` per output; it pays with a loop that stands
still while a checkpoint's flush waits for the last acknowledgements (linger plus a round trip).
One global delivery callback, on failures only (`delivery.report.only.error`), stops the worker
before the next checkpoint can commit past a record that was not delivered. docs/performance.md
has the measurements of both.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from processor.delivery.base import Delivery, Headers, Key, Services, mark_progress
from processor.pipeline import DEAD

log = logging.getLogger("processor.delivery")


class Checkpoint(Delivery):
    name = "at-least-once"

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        p = self.cfg.processor
        self._interval = p["commit_interval_s"]
        self._every = min(p["commit_every"], p["max_in_flight"])
        self._next = time.monotonic() + self._interval
        self._flush_s = p["shutdown_timeout_s"]
        self._handled: dict[Key, int] = {}
        self._committed: dict[Key, int] = {}
        self._produced: Counter[str] = Counter()
        self._dead: Counter[str] = Counter()
        self._unmapped: Counter[str] = Counter()
        self._event_times: list[object] = []
        self._produce: Any = None

    def producer_config(self, conf: dict[str, Any]) -> dict[str, Any]:
        conf["on_delivery"] = self._failed
        conf["delivery.report.only.error"] = True
        return conf

    def start(self) -> None:
        assert self.s.producer is not None
        self._produce = self.s.producer.produce

    def describe(self) -> dict[str, Any]:
        return {"guarantee": self.name, "commit_strategy": "checkpoint"}

    def _failed(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.metrics.produce_errors.inc()
            self.fail(f"delivery to {msg.topic()} failed: {err.str()}")

    # ---- outputs -----------------------------------------------------------------------------

    def envelope(
        self, msg: Message, topic: str, payload: bytes, key: bytes | None, profile: str, event_time: object
    ) -> None:
        try:
            self._produce(topic, payload, key)
        except (BufferError, KafkaException):
            if not self.produce_careful(topic, payload, key, None):
                return
        self._handled[(msg.topic(), msg.partition())] = msg.offset() + 1
        self.in_flight += 1
        self._produced[profile] += 1
        self._event_times.append(event_time)

    def side(self, msg: Message, kind: int, label: str, topic: str, headers: Headers) -> None:
        if not self.produce_careful(
            topic, msg.value(), msg.key(), headers, stage=label if kind == DEAD else None
        ):
            return
        self._handled[(msg.topic(), msg.partition())] = msg.offset() + 1
        self.in_flight += 1
        (self._dead if kind == DEAD else self._unmapped)[label] += 1

    def skip(self, msg: Message) -> None:
        self._handled[(msg.topic(), msg.partition())] = msg.offset() + 1

    # ---- checkpoints -------------------------------------------------------------------------

    def maybe_commit(self, now: float) -> None:
        if now >= self._next or self.in_flight >= self._every:
            self.checkpoint(self._flush_s)
            self._next = time.monotonic() + self._interval

    def commit_now(self) -> None:
        self.checkpoint(self._flush_s)

    def checkpoint(self, flush_s: float, only: list[Key] | None = None) -> None:
        producer, consumer = self.s.producer, self.s.consumer
        assert producer is not None and consumer is not None
        left = producer.flush(flush_s) if self.in_flight else 0
        if left or self.fatal is not None:
            if left:
                log.warning(
                    "outputs not acknowledged at a checkpoint; nothing committed",
                    extra={"fields": {"undelivered": left}},
                )
            return
        t = self.tallies
        t.produced.update(self._produced)
        t.dead.update(self._dead)
        t.unmapped.update(self._unmapped)
        t.acked_times.extend(self._event_times)
        self._produced.clear()
        self._dead.clear()
        self._unmapped.clear()
        self._event_times.clear()
        self.in_flight = 0
        keys = only if only is not None else list(self._handled)
        offsets = [
            TopicPartition(k[0], k[1], self._handled[k])
            for k in keys
            if k in self._handled and self._committed.get(k) != self._handled[k]
        ]
        if not offsets:
            return
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("commit failed; will retry", extra={"fields": {"error": exc.args[0].str()}})
            return
        for tp in offsets:
            self._committed[(tp.topic, tp.partition)] = tp.offset
        mark_progress(self)

    def settled(self) -> bool:
        return not self.in_flight and all(self._committed.get(k) == v for k, v in self._handled.items())

    def positions(self) -> dict[Key, int | None]:
        return dict(self._handled)

    # ---- rebalances, shutdown ------------------------------------------------------------------

    def assigned(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._forget((tp.topic, tp.partition))

    def revoked(self, partitions: list[TopicPartition]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        if self.fatal is None:
            self.checkpoint(self._flush_s, only=keys)
        for key in keys:
            self._forget(key)

    def lost(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._forget((tp.topic, tp.partition))

    def _forget(self, key: Key) -> None:
        self._handled.pop(key, None)
        self._committed.pop(key, None)

    def shutdown(self, budget_s: float) -> int:
        producer = self.s.producer
        assert producer is not None
        if self.fatal is None:
            self.checkpoint(budget_s * 0.8)
        self._flush_s = 0.0
        left = len(producer)
        self.tallies.flush()
        return left
