"""What every delivery strategy offers the worker, and the parts they share.

A strategy owns the producer's side of the loop: it produces each output the pipeline hands it,
tracks which inputs are done, commits their offsets (by consumer commit or inside a transaction),
and reacts to rebalances. It also holds the worker's failure state: the first permanent failure
halts the batch and ends the loop, and nothing is committed past an input that is not done.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from processor import dlq

if TYPE_CHECKING:
    from processor.config import Config
    from processor.health import HealthState
    from processor.metrics import Metrics
    from processor.tallies import Tallies

log = logging.getLogger("processor.delivery")

Key = tuple[str, int]  # (topic, partition) of an input
Headers = list[tuple[str, bytes]]


@dataclass(slots=True)
class Services:
    """What a strategy works with; the clients are set once the worker has built them."""

    config: Config
    metrics: Metrics
    tallies: Tallies
    health: HealthState
    consumer: Consumer | None = None
    producer: Producer | None = None


class Delivery:
    """Base of the strategies: failure state, and the careful produce path they share."""

    name: ClassVar[str] = ""

    def __init__(self, services: Services) -> None:
        self.s = services
        self.cfg = services.config
        self.metrics = services.metrics
        self.tallies = services.tallies
        self.health = services.health
        self.halted = False  # read by the pipeline before each input: stop taking inputs now
        self.fatal: str | None = None
        self.in_flight = 0  # inputs consumed and not yet committed-ready (the backpressure measure)
        self.stopping = False
        self._max_bytes = services.config.processor["max_record_bytes"]

    # ---- set-up ----------------------------------------------------------------------------

    def consumer_config(self, conf: dict[str, Any]) -> dict[str, Any]:
        return conf

    def producer_config(self, conf: dict[str, Any]) -> dict[str, Any]:
        return conf

    def start(self) -> None:
        """After the clients exist, before the first record is consumed."""

    def describe(self) -> dict[str, Any]:
        """Fields for the start-up log line."""
        return {"guarantee": self.name}

    # ---- the per-event calls (see processor.pipeline) ----------------------------------------

    def before_batch(self) -> None:
        """Called before the pipeline handles a non-empty batch."""

    def after_batch(self) -> None:
        """Called after the pipeline handled a batch."""

    def envelope(
        self, msg: Message, topic: str, payload: bytes, key: bytes | None, profile: str, event_time: object
    ) -> None:
        raise NotImplementedError

    def side(self, msg: Message, kind: int, label: str, topic: str, headers: Headers) -> None:
        """A dead letter (kind DEAD, label = stage) or an unmapped copy (UNMAPPED, label = event name)."""
        raise NotImplementedError

    def skip(self, msg: Message) -> None:
        """An input that is done without any output (tombstone, unmapped with unmapped = "skip")."""
        raise NotImplementedError

    # ---- commits, rebalances, shutdown -------------------------------------------------------

    def maybe_commit(self, now: float) -> None:
        raise NotImplementedError

    def commit_now(self) -> None:
        """Commit everything that is done (drained, shutdown)."""
        raise NotImplementedError

    def settled(self) -> bool:
        """Nothing consumed is left uncommitted (for --exit-when-drained)."""
        raise NotImplementedError

    def positions(self) -> dict[Key, int | None]:
        """Per assigned partition, the offset just past the inputs done in this assignment."""
        raise NotImplementedError

    def assigned(self, partitions: list[TopicPartition]) -> None:
        pass

    def revoked(self, partitions: list[TopicPartition]) -> None:
        raise NotImplementedError

    def lost(self, partitions: list[TopicPartition]) -> None:
        raise NotImplementedError

    def shutdown(self, budget_s: float) -> int:
        """Deliver and commit what is done within the budget; returns the outputs left undelivered."""
        raise NotImplementedError

    def serve(self, timeout: float) -> None:
        """Serve delivery reports (the loop calls it every iteration)."""
        assert self.s.producer is not None
        try:
            self.s.producer.poll(timeout)
        except KafkaException as exc:  # a transactional producer raises its fatal error from poll
            err = exc.args[0]
            if err.fatal():
                self.fatal_error("producer", err)
            else:
                log.warning("producer poll failed", extra={"fields": {"error": err.str()}})

    # ---- failures ----------------------------------------------------------------------------

    def fail(self, reason: str) -> None:
        """A permanent failure: halt, commit nothing past it, and let the worker exit 1."""
        if self.fatal is None:
            self.fatal = reason
            self.halted = True
            self.health.failed = reason
            log.error(
                "permanent failure; stopping without committing past it", extra={"fields": {"error": reason}}
            )

    def fatal_error(self, client: str, err: KafkaError) -> None:
        """A fatal error from a client's error callback."""
        self.fail(f"fatal {client} error: {self.explain(err)}")

    def explain(self, err: KafkaError) -> str:
        """librdkafka's text of an error, with what it means for this strategy when that helps."""
        return err.str()

    def produce_failed(self, topic: str, err: KafkaError) -> None:
        if err.code() == KafkaError._FATAL and self.s.producer is not None:
            # "Local: Fatal error" says nothing: the error callback, served now, names the cause
            # (or poll raises the underlying error itself)
            try:
                self.s.producer.poll(0)
            except KafkaException as exc:
                err = exc.args[0]
        self.metrics.produce_errors.inc()
        self.fail(f"produce to {topic} failed: {self.explain(err)}")

    def produce_careful(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Headers | None,
        cb: Any = None,
        stage: str | None = None,
    ) -> bool:
        """Produce, waiting for queue room on BufferError; False when the produce failed for good."""
        producer = self.s.producer
        assert producer is not None
        while True:
            try:
                if cb is None:
                    producer.produce(topic, value, key, headers=headers)
                else:
                    producer.produce(topic, value, key, headers=headers, on_delivery=cb)
                return True
            except BufferError:
                self.serve(0.05)  # delivery reports free queue room
                if self.halted:
                    return False
            except KafkaException as exc:
                err = exc.args[0]
                if stage == "size" and err.code() == KafkaError.MSG_SIZE_TOO_LARGE and value is not None:
                    # Too big even for the dead-letter topic: keep its headers, drop the value.
                    headers = [*(headers or []), (dlq.VALUE_DROPPED, b"true")]
                    value = None
                    continue
                self.produce_failed(topic, err)
                return False


def mark_progress(delivery: Delivery) -> None:
    """A commit went through: the health check and the no-progress alert see it."""
    delivery.metrics.commits.inc()
    delivery.metrics.last_progress.set(time.time())
    delivery.health.last_progress = time.monotonic()
