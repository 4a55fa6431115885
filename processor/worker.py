"""The worker loop: consume a batch, hand it to the pipeline, let the delivery strategy commit.

Three parts, each in its own module:
- `processor.pipeline`: the per-event path (decode, map, validate, privacy, route, serialize), the
  same for every guarantee;
- `processor.delivery`: how outputs are produced and offsets committed (`at_least_once`: after
  every output is acknowledged; `exactly_once`: in one Kafka transaction with the outputs);
- this module: the clients, the loop with its backpressure, rebalance and librdkafka callbacks, and
  shutdown.

Everything runs on one thread: librdkafka calls the delivery, rebalance, statistics and error
callbacks from inside `consume`/`poll`/`flush`, so nothing needs a lock.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from functools import partial
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from processor import delivery as strategies
from processor.config import Config, ConfigError
from processor.delivery.base import Services
from processor.health import HealthState
from processor.metrics import Metrics
from processor.pipeline import Pipeline
from processor.tallies import Tallies

log = logging.getLogger("processor.worker")
# librdkafka's own log lines (broker connections, retries) join ours instead of going raw to stderr.
KAFKA_LOG = logging.getLogger("processor.kafka")

# Backpressure. At the in-flight limit the loop first just stops consuming and serves delivery
# reports (cheap: librdkafka keeps fetching within its own queue bounds). Only when that lasts
# HARD_PAUSE_AFTER_S does it pause the partitions and keep polling the consumer, so that rebalances
# are served and max.poll.interval.ms is never exceeded; a pause costs a fetch round trip on resume,
# which is why it is not the first resort.
HARD_PAUSE_AFTER_S = 5.0
ERROR_LOG_INTERVAL_S = 60.0
MAX_DRAIN_RECHECKS = 3
RESUME_FRACTION = 0.75  # consume again once in-flight work is back under 75% of the limit
# The loop allocates a few dozen short-lived containers per event, nearly all freed by reference
# counting; the cyclic collector's default first-generation threshold (700) would run it every ~20
# events. Start-up objects (modules, the mapping registry) are frozen out of its scans.
GC_THRESHOLDS = (50_000, 20, 100)
FATAL_CLOSE_S = 5.0  # after a permanent failure, the most the consumer's close may hold the exit


class Worker:
    """One consumer-group member. Build it, call `run()` (returns the exit status), `stop()` to end."""

    def __init__(
        self,
        config: Config,
        *,
        transformer: Any = None,
        metrics: Metrics | None = None,
        health: HealthState | None = None,
        exit_when_drained: bool = False,
        serializer: Any = None,
    ) -> None:
        self.cfg = config
        p = config.processor
        if transformer is None:
            from mappings.privacy import build_policy
            from mappings.transform import Transformer

            transformer = Transformer(
                strict=p["strict"], mappings=p["mappings"], policy=build_policy(config.privacy_settings())
            )
        self.metrics = metrics or Metrics(unmapped_names_max=p["unmapped_names_max"])
        self.health = health or HealthState(config.http["health_stall_s"])
        self.tallies = Tallies(self.metrics)
        self.exit_when_drained = exit_when_drained
        self.services = Services(config, self.metrics, self.tallies, self.health)
        self.delivery = strategies.build(p["guarantee"], self.services)
        self.metrics.guarantee.info({"guarantee": self.delivery.name})
        if serializer is None:  # topics.format: JSON, or Avro with a Schema Registry (processor.formats)
            from processor.formats import serializer_for

            serializer = serializer_for(
                config, on_wait=self._registry_wait, stopping=lambda: self.delivery.stopping
            )
        self.serializer = serializer
        self.pipeline = Pipeline(
            config,
            transformer=transformer,
            metrics=self.metrics,
            tallies=self.tallies,
            serializer=serializer,
            on_consume_error=self._on_consume_error,
        )
        self.router = self.pipeline.router

        self._input = config.topics["input"]
        self._batch = p["batch_size"]
        self._timeout = p["consume_timeout_s"]
        self._max_in_flight = p["max_in_flight"]
        self._shutdown_timeout = p["shutdown_timeout_s"]

        self._drain_targets: dict[tuple[str, int], tuple[int, int]] = {}
        self._drain_rechecks = 0
        self._paused = False
        self._blocked_since: float | None = None
        self._repause = False
        self._error_logged: dict[int, float] = {}
        self._assigned_once = False
        self._assigned: set[tuple[str, int]] = set()
        self.started_at = 0.0
        self.first_input_at: float | None = None
        self.stopped_at: float | None = None
        self.consumed_total = 0

        self.consumer: Consumer | None = None
        self.producer: Producer | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to end after the current batch (signal handlers call this)."""
        self.delivery.stopping = True

    @property
    def fatal(self) -> str | None:
        return self.delivery.fatal

    def _clients(self) -> None:
        cconf = self.cfg.consumer_config()
        cconf.update(stats_cb=self._on_stats, error_cb=partial(self._on_error, "consumer"), logger=KAFKA_LOG)
        pconf = self.cfg.producer_config()
        pconf.update(error_cb=partial(self._on_error, "producer"), logger=KAFKA_LOG)
        try:
            self.producer = Producer(self.delivery.producer_config(pconf))
            self.consumer = Consumer(self.delivery.consumer_config(cconf))
        except (
            KafkaException
        ) as exc:  # librdkafka names the bad property, e.g. 'No such configuration property'
            raise ConfigError(f"librdkafka rejected the configuration: {exc.args[0].str()}") from None
        self.services.consumer, self.services.producer = self.consumer, self.producer

    def run(self) -> int:
        """Consume until stopped (0), drained with `exit_when_drained` (0), or failed (1)."""
        self._clients()
        assert self.consumer is not None
        log.info(
            "worker starting",
            extra={
                "fields": {
                    "input": self._input,
                    "group": self.cfg.processor["group_id"],
                    "bootstrap": self.cfg.bootstrap_servers(),
                    **self.delivery.describe(),
                }
            },
        )
        # Before the first record: schema ids resolved (may wait for the registry, or raise ConfigError).
        self.serializer.prepare(self.cfg.all_output_topics())
        if self.delivery.stopping:
            self.consumer.close()
            return 0
        self.delivery.start()  # exactly-once: init_transactions, before the first record is read
        if self.delivery.fatal is not None:
            return self._shutdown()
        self.consumer.subscribe(
            [self._input], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        log.info("worker started", extra={"fields": {"guarantee": self.delivery.name}})
        gc.collect()
        gc.freeze()
        previous_gc = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            return self._loop()
        finally:
            gc.set_threshold(*previous_gc)
            gc.unfreeze()

    def _loop(self) -> int:
        assert self.consumer is not None and self.producer is not None
        consumer, d = self.consumer, self.delivery
        self.started_at = time.monotonic()
        health, metrics, tallies = self.health, self.metrics, self.tallies
        while not d.stopping and d.fatal is None:
            room = self._max_in_flight - d.in_flight
            if self._blocked(room):
                d.serve(0.05)  # delivery reports free room
                if self._paused:
                    # Keeps rebalances and statistics served. Paused partitions return no records, but
                    # one of a partition assigned since the pause may: it is handled, never dropped.
                    msgs = consumer.consume(1, 0)
                    if msgs:
                        self._handle_batch(msgs)
            else:
                # Wait for the first record only, then take what is already fetched: a batch never
                # waits for the consume timeout to fill up, so latency stays low at low rates.
                first = consumer.poll(self._timeout)
                if first is not None:
                    want = min(self._batch, room) - 1
                    self._handle_batch([first, *consumer.consume(want, 0)] if want > 0 else [first])
                d.serve(0)
            now = time.monotonic()
            health.last_poll = now
            d.maybe_commit(now)
            tallies.flush()
            metrics.in_flight.set(d.in_flight)
            metrics.queue_depth.set(len(self.producer))
            health.pending = d.in_flight
            if self.exit_when_drained and self._drained():
                log.info("input drained", extra={"fields": {"consumed": self.consumed_total}})
                break
        return self._shutdown()

    def _handle_batch(self, msgs: list[Message]) -> None:
        self.delivery.before_batch()
        taken = self.pipeline.handle(msgs, self.delivery)
        self.consumed_total += taken
        if msgs:
            self.health.last_progress = time.monotonic()
            if self.first_input_at is None:
                self.first_input_at = self.health.last_progress

    def _shutdown(self) -> int:
        assert self.consumer is not None and self.producer is not None
        d = self.delivery
        deadline = time.monotonic() + self._shutdown_timeout
        left = d.shutdown(self._shutdown_timeout)
        d.stopping = True
        self.stopped_at = time.monotonic()
        if d.fatal:
            # Leaving the group may wait on a broker that cannot be reached (an outstanding commit
            # holds close() until its request times out): give it a few seconds, then exit anyway.
            closer = threading.Thread(target=self._close_consumer, name="consumer-close", daemon=True)
            closer.start()
            closer.join(FATAL_CLOSE_S)
            if closer.is_alive():
                log.warning(f"the consumer did not close within {FATAL_CLOSE_S:.0f} s; exiting without it")
        elif time.monotonic() < deadline:
            self._close_consumer()  # revokes everything; the strategy finishes within the budget
        self.tallies.flush()
        self.metrics.in_flight.set(d.in_flight)
        if d.fatal:
            log.error("worker stopped on a permanent failure", extra={"fields": {"error": d.fatal}})
            return 1
        log.info(
            "worker stopped",
            extra={"fields": {"consumed": self.consumed_total, "undelivered": left}},
        )
        return 1 if left else 0

    def _close_consumer(self) -> None:
        assert self.consumer is not None
        try:
            self.consumer.close()
        except (KafkaException, RuntimeError) as exc:
            log.warning("consumer close failed", extra={"fields": {"error": str(exc)}})

    def _registry_wait(self, why: str | None) -> None:
        """Called on every retry (at most retry_backoff_max_s apart): not ready, but alive."""
        self.health.waiting_for = why
        self.health.last_poll = time.monotonic()

    def busy_seconds(self) -> float:
        """From the first input consumed to the end of the loop (throughput without the group join)."""
        if self.first_input_at is None or self.stopped_at is None:
            return 0.0
        return self.stopped_at - self.first_input_at

    # ---- backpressure ------------------------------------------------------------------------

    def _blocked(self, room: int) -> bool:
        """Whether to hold consumption this iteration (in-flight limit), pausing if it lasts."""
        in_flight = self.delivery.in_flight
        if self._paused:
            if in_flight <= self._max_in_flight * RESUME_FRACTION:
                log.info(
                    "in-flight work back under the limit; resuming",
                    extra={"fields": {"in_flight": in_flight}},
                )
                self._pause(False)
                self._blocked_since = None
                return False
            if self._repause:
                self._pause(True)
            return True
        if self._blocked_since is None:
            if room > 0:
                return False
            self._blocked_since = time.monotonic()
            return True
        if in_flight <= self._max_in_flight * RESUME_FRACTION:
            self._blocked_since = None
            return False
        if time.monotonic() - self._blocked_since >= HARD_PAUSE_AFTER_S:
            log.info(
                "in-flight limit reached for a while; pausing the input partitions",
                extra={"fields": {"in_flight": in_flight, "queued": len(self.producer or ())}},
            )
            self._pause(True)
        return True

    def _pause(self, pause: bool) -> None:
        assert self.consumer is not None
        parts = self.consumer.assignment()
        if parts:
            (self.consumer.pause if pause else self.consumer.resume)(parts)
        self._paused = pause
        self._repause = False

    # ---- rebalances --------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.metrics.rebalances.labels("assigned").inc()
        self.health.broker_up = True
        committed: dict[tuple[str, int], int] = {}
        if partitions and self.exit_when_drained:
            for tp in consumer.committed(partitions, timeout=10):
                if tp.offset >= 0:
                    committed[(tp.topic, tp.partition)] = tp.offset
        for tp in partitions:
            key = (tp.topic, tp.partition)
            self._assigned.add(key)
            if self.exit_when_drained:
                low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
                # (where this group starts reading, the high watermark): nothing to read when equal
                self._drain_targets[key] = (max(committed.get(key, low), low), high)
        self.delivery.assigned(partitions)
        self._assigned_once = self._assigned_once or bool(partitions)
        self._set_assigned()
        log.info("partitions assigned", extra={"fields": {"partitions": _names(partitions)}})
        if self._paused and partitions:
            self._repause = True  # assigned after the pause: paused too on the next iteration

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Finish and commit the revoked partitions' work, so the next owner starts after it."""
        self.metrics.rebalances.labels("revoked").inc()
        self.delivery.revoked(partitions)
        self.tallies.flush()
        self._drop(partitions)
        log.info("partitions revoked", extra={"fields": {"partitions": _names(partitions)}})

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Another member may own them already: committing now could move its offsets; drop state."""
        self.metrics.rebalances.labels("lost").inc()
        self.delivery.lost(partitions)
        self._drop(partitions)
        log.warning("partitions lost", extra={"fields": {"partitions": _names(partitions)}})

    def _drop(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            key = (tp.topic, tp.partition)
            self._assigned.discard(key)
            self._drain_targets.pop(key, None)
            with contextlib.suppress(KeyError):
                self.metrics.consumer_lag.remove(key[0], str(key[1]))
        self._set_assigned()

    def _set_assigned(self) -> None:
        n = len(self._assigned)
        self.metrics.assigned.set(n)
        self.health.assigned = n

    def _drained(self) -> bool:
        """Every assigned partition read to its high watermark, delivered, and committed.

        The high watermarks are those at assignment, checked once more on arrival (records produced
        meanwhile are read too), at most MAX_DRAIN_RECHECKS times so a live stream still ends.
        """
        d = self.delivery
        if not self._assigned_once or not self._assigned or d.in_flight:
            return False
        positions = d.positions()
        for key in self._assigned:
            target = self._drain_targets.get(key)
            if target is None:
                return False
            start, high = target
            position = positions.get(key)
            if high > start and (position is None or position < high):
                return False
        if self._drain_rechecks < MAX_DRAIN_RECHECKS and self.consumer is not None:
            self._drain_rechecks += 1
            grew = False
            for key, (start, high) in list(self._drain_targets.items()):
                # The high watermark every fetch response carries: no round trip, which on the fetch
                # connection would wait behind the fetch long poll (fetch.wait.max.ms).
                _, now_high = self.consumer.get_watermark_offsets(TopicPartition(*key), cached=True)
                if now_high > high:
                    self._drain_targets[key] = (start, now_high)
                    grew = True
            if grew:
                return False
        d.commit_now()
        return d.settled()

    # ---- librdkafka callbacks ----------------------------------------------------------------

    def _on_stats(self, raw: str) -> None:
        try:
            stats = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        gauge = self.metrics.consumer_lag
        for topic, tstats in (stats.get("topics") or {}).items():
            for part, pstats in (tstats.get("partitions") or {}).items():
                if part == "-1" or (topic, int(part)) not in self._assigned:
                    continue
                lag = _partition_lag(pstats)
                if lag is not None:
                    gauge.labels(topic, part).set(lag)
        brokers = stats.get("brokers") or {}
        if brokers:
            self.health.broker_up = any(b.get("state") == "UP" for b in brokers.values())

    def _on_error(self, client: str, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self.health.broker_up = False
        if err.fatal():
            if client == "producer":
                self.metrics.produce_errors.inc()
            self.delivery.fatal_error(client, err)
        else:
            fields = {"client": client, "error": err.str(), "code": err.name()}
            log.warning("kafka client error", extra={"fields": fields})

    def _on_consume_error(self, err: KafkaError) -> None:
        if err.fatal():
            self.delivery.fail(f"fatal consumer error: {err.str()}")
            return
        # e.g. the input topic does not exist (yet): say so once a minute, not once per poll
        now = time.monotonic()
        if now - self._error_logged.get(err.code(), -1e9) >= ERROR_LOG_INTERVAL_S:
            self._error_logged[err.code()] = now
            log.warning("consume error", extra={"fields": {"error": err.str(), "code": err.name()}})


def _partition_lag(pstats: dict) -> int | None:
    """Lag of one partition from its librdkafka statistics.

    librdkafka says -1 until the group has committed; a new group stuck before its first commit would
    then show no lag at all (and the no-progress alert could not fire), so fall back to the stored
    offset, then to the whole partition (high minus low watermark).
    """
    for key in ("consumer_lag", "consumer_lag_stored"):
        lag = pstats.get(key, -1)
        if lag >= 0:
            return lag
    hi, lo = pstats.get("hi_offset", -1), pstats.get("lo_offset", -1)
    return hi - lo if hi >= 0 and lo >= 0 else None


def _names(partitions: list[TopicPartition]) -> list[str]:
    return [f"{tp.topic}[{tp.partition}]" for tp in partitions]
