"""Produce one record and wait, asynchronously, for the broker's acknowledgement.

librdkafka calls delivery reports from whichever thread polls it; a small thread polls, collects
the reports and hands them to the event loop in one `call_soon_threadsafe` per poll, not one per
record. The producer is idempotent with acks=all (the worker's producer settings), and its
`message.timeout.ms` defaults to the HTTP acknowledgement limit, so a record whose request was
answered 503 is not delivered long after behind Canvas's back (its retry would then duplicate it).

The broker's state comes from librdkafka itself: "all brokers down" marks it down (requests are
then answered 503 at once instead of waiting out the limit; librdkafka keeps reconnecting),
statistics (every second) or a delivery showing a broker UP mark it up again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import orjson
from confluent_kafka import KafkaError, KafkaException, Producer

log = logging.getLogger(__name__)
KAFKA_LOG = logging.getLogger("processor.kafka")  # librdkafka's own lines, like the worker's


TIMED_OUT = object()  # what the sweeper reports for a request that waited too long


class ProduceFailed(Exception):
    """The record was not acknowledged; `reason` is a bounded metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class AsyncProducer:
    def __init__(self, conf: dict[str, Any], topic: str, *, ack_timeout_s: float) -> None:
        self.topic = topic
        self.ack_timeout_s = ack_timeout_s
        conf = dict(conf)
        conf.setdefault("message.timeout.ms", int(ack_timeout_s * 1000))
        conf.setdefault("statistics.interval.ms", 1000)
        conf.update(error_cb=self._on_error, stats_cb=self._on_stats, logger=KAFKA_LOG)
        self.producer = Producer(conf)
        self.broker_up: bool | None = None  # None: not known yet (produce and see)
        self.fatal: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reports: list[tuple[asyncio.Future, KafkaError | None, Any]] = []
        self._reports_lock = threading.Lock()
        self._waiting: deque[tuple[float, asyncio.Future]] = deque()  # in produce order
        self._sweeper: asyncio.Task | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread.start()
        self._sweeper = loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        """A safety net beside librdkafka's own timeout report: a request waits at most
        ack_timeout_s + 0.5 s. One timer for all requests (a wait_for each cost 10% of a core)."""
        waiting = self._waiting
        while True:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            while waiting and (waiting[0][1].done() or waiting[0][0] <= now):
                _deadline, fut = waiting.popleft()
                if not fut.done():
                    fut.set_result((TIMED_OUT, None))

    def alive(self) -> bool:
        return self._thread.is_alive() and self.fatal is None

    def close(self, timeout_s: float) -> int:
        """Flush what is queued (its requests are still waiting), stop polling; records left."""
        left = self.producer.flush(timeout_s)
        self._stop.set()
        self._thread.join(5)
        self._deliver_reports()
        if self._sweeper:
            self._sweeper.cancel()
        return left

    def __len__(self) -> int:
        return len(self.producer)

    # ---- producing -----------------------------------------------------------------------

    async def send(self, value: bytes, key: bytes | None, headers: Sequence[tuple[str, bytes]]) -> Any:
        """Produce and wait for the acknowledgement; ProduceFailed when there is none in time."""
        if self.broker_up is False:
            raise ProduceFailed("kafka_unavailable", "no broker reachable")
        fut = self._loop.create_future()  # type: ignore[union-attr]
        try:
            self.producer.produce(
                self.topic,
                value,
                key,
                headers=list(headers),
                on_delivery=lambda e, m: self._report(fut, e, m),
            )
        except BufferError:
            raise ProduceFailed("queue_full", "producer queue is full") from None
        except KafkaException as exc:
            raise ProduceFailed("kafka_error", str(exc)) from None
        # A little beyond message.timeout.ms, so librdkafka's own timeout report comes first.
        self._waiting.append((time.monotonic() + self.ack_timeout_s + 0.5, fut))
        err, msg = await fut
        if err is not None:
            if err is TIMED_OUT or err.code() == KafkaError._MSG_TIMED_OUT:
                raise ProduceFailed("ack_timeout", f"no acknowledgement within {self.ack_timeout_s} s")
            raise ProduceFailed("kafka_error", err.str())
        return msg

    def _report(self, fut: asyncio.Future, err: KafkaError | None, msg: Any) -> None:
        # On the poll thread (or the flushing one): collect; handed over after the poll call.
        with self._reports_lock:
            self._reports.append((fut, err, msg))
        if err is None:
            self.broker_up = True

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self.producer.poll(0.05)
            except Exception as exc:  # a callback bug must not silently stop acknowledgements
                self.fatal = f"{type(exc).__name__}: {exc}"
                log.exception("producer poll failed")
                return
            if self._reports:
                self._loop.call_soon_threadsafe(self._deliver_reports)  # type: ignore[union-attr]

    def _deliver_reports(self) -> None:
        with self._reports_lock:
            reports, self._reports = self._reports, []
        for fut, err, msg in reports:
            if not fut.done():
                fut.set_result((err, msg))

    # ---- broker state --------------------------------------------------------------------

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            if self.broker_up is not False:
                log.warning("all brokers down; answering 503 until one is back")
            self.broker_up = False
        elif err.fatal():
            self.fatal = err.str()
            log.error("fatal producer error", extra={"fields": {"error": err.str()}})
        else:
            log.info("producer error", extra={"fields": {"error": err.str()}})

    def _on_stats(self, raw: str) -> None:
        try:
            brokers = orjson.loads(raw).get("brokers", {})
        except orjson.JSONDecodeError:
            return
        up = any(b.get("state") == "UP" for b in brokers.values() if b.get("nodeid", -1) >= 0)
        # Only "all brokers down" marks the cluster down: one broker between connections is not news.
        if up and self.broker_up is not True:
            if self.broker_up is False:
                log.info("broker reachable again")
            self.broker_up = True
