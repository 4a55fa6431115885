"""The worker loop: consume a batch, map each input, produce, track deliveries, commit what is done.

Delivery is at-least-once: an input's offset is committed only after every output it produced
(envelope, dead letter or unmapped copy) is acknowledged, so a crash replays at most the inputs in
flight plus those done since the last commit (bounded by `max_in_flight` + `commit_every`), and
never skips one. A permanent produce failure stops the worker (exit 1) without committing past the
failed input, so a restart retries it.

Everything runs on one thread: librdkafka calls the delivery, rebalance, statistics and error
callbacks from inside `consume`/`poll`/`flush`, so the trackers need no locks.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from bisect import bisect_left
from collections import Counter
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from mappings.errors import MappingError, UnmappedEventError
from processor import dlq
from processor.config import Config, ConfigError
from processor.health import HealthState
from processor.metrics import Metrics
from processor.offsets import PartitionOffsets
from processor.routing import Router, routing_key

log = logging.getLogger("processor.worker")
# librdkafka's own log lines (broker connections, retries) join ours instead of going raw to stderr.
KAFKA_LOG = logging.getLogger("processor.kafka")

DEAD, UNMAPPED = 1, 2  # kinds of non-envelope output, for their delivery reports
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
    ) -> None:
        self.cfg = config
        p = config.processor
        if transformer is None:
            from mappings.transform import Transformer

            transformer = Transformer(strict=p["strict"], mappings=p["mappings"])
        self._transform = transformer.transform
        self._validate = None
        if p["validate"]:
            from mappings.validator import validate_envelope

            self._validate = partial(validate_envelope, tolerant=not p["strict"])
        self.router = Router(config)
        self.metrics = metrics or Metrics(unmapped_names_max=p["unmapped_names_max"])
        self.health = health or HealthState(config.http["health_stall_s"])
        self.exit_when_drained = exit_when_drained

        self._input = config.topics["input"]
        self._dlq_topic = config.topics["dlq"]
        self._unmapped_topic = config.topics["unmapped"]
        self._unmapped_to_topic = p["unmapped"] == "topic"
        self._max_bytes = p["max_record_bytes"]
        self._batch = p["batch_size"]
        self._timeout = p["consume_timeout_s"]
        self._max_in_flight = p["max_in_flight"]
        self._commit_interval = p["commit_interval_s"]
        self._commit_every = p["commit_every"]
        self._shutdown_timeout = p["shutdown_timeout_s"]
        self._revoke_flush_s = self._shutdown_timeout

        self._trackers: dict[tuple[str, int], PartitionOffsets] = {}
        self._drain_targets: dict[tuple[str, int], tuple[int, int]] = {}
        self._drain_rechecks = 0
        self._in_flight = 0
        self._done_since_commit = 0
        self._stopping = False
        self._fatal: str | None = None
        self._paused = False
        self._blocked_since: float | None = None
        self._repause = False
        self._error_logged: dict[int, float] = {}
        self._assigned_once = False
        # Per-batch tallies, added to the Prometheus counters once per loop iteration.
        self._consumed = 0
        self._produced: Counter[str] = Counter()
        self._dead: Counter[str] = Counter()
        self._unmapped: Counter[str] = Counter()
        self._skipped: Counter[str] = Counter()
        self._acked_times: list[object] = []  # eventTime of each envelope acknowledged since the last tally
        self.started_at = 0.0
        self.first_input_at: float | None = None
        self.stopped_at: float | None = None
        self.consumed_total = 0

        self.consumer: Consumer | None = None
        self.producer: Producer | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to end after the current batch (signal handlers call this)."""
        self._stopping = True

    def _clients(self) -> None:
        cconf = self.cfg.consumer_config()
        cconf.update(
            stats_cb=self._on_stats,
            error_cb=partial(self._on_error, "consumer"),
            on_commit=self._on_commit,
            logger=KAFKA_LOG,
        )
        pconf = self.cfg.producer_config()
        pconf.update(error_cb=partial(self._on_error, "producer"), logger=KAFKA_LOG)
        try:
            self.producer = Producer(pconf)
            self.consumer = Consumer(cconf)
        except (
            KafkaException
        ) as exc:  # librdkafka names the bad property, e.g. 'No such configuration property'
            raise ConfigError(f"librdkafka rejected the configuration: {exc.args[0].str()}") from None

    def run(self) -> int:
        """Consume until stopped (0), drained with `exit_when_drained` (0), or failed (1)."""
        self._clients()
        assert self.consumer is not None
        self.consumer.subscribe(
            [self._input], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        log.info(
            "worker started",
            extra={
                "fields": {
                    "input": self._input,
                    "group": self.cfg.processor["group_id"],
                    "bootstrap": self.cfg.bootstrap_servers(),
                }
            },
        )
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
        consumer, producer = self.consumer, self.producer
        self.started_at = time.monotonic()
        next_commit = time.monotonic() + self._commit_interval
        health, metrics = self.health, self.metrics
        while not self._stopping and self._fatal is None:
            room = self._max_in_flight - self._in_flight
            if self._blocked(room):
                producer.poll(0.05)  # delivery reports free room
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
                producer.poll(0)
            now = time.monotonic()
            health.last_poll = now
            self._flush_tallies()
            metrics.in_flight.set(self._in_flight)
            metrics.queue_depth.set(len(producer))
            health.pending = self._in_flight
            if now >= next_commit or self._done_since_commit >= self._commit_every:
                self._commit()
                next_commit = now + self._commit_interval
            if self.exit_when_drained and self._drained():
                log.info("input drained", extra={"fields": {"consumed": self.consumed_total}})
                break
        return self._shutdown()

    def _shutdown(self) -> int:
        assert self.consumer is not None and self.producer is not None
        deadline = time.monotonic() + self._shutdown_timeout
        flush_for = min(5.0, self._shutdown_timeout) if self._fatal else self._shutdown_timeout * 0.8
        left = self.producer.flush(flush_for)
        self._flush_tallies()
        if left:
            log.warning(
                "outputs not acknowledged at shutdown; their inputs stay uncommitted",
                extra={"fields": {"undelivered": left}},
            )
        self._commit(sync=True)
        self._stopping = True
        self.stopped_at = time.monotonic()
        # close() revokes everything; the revoke handler flushes again, within what is left of the budget.
        self._revoke_flush_s = 0.0 if self._fatal else max(0.0, deadline - time.monotonic())
        try:
            if time.monotonic() < deadline:
                self.consumer.close()
        except KafkaException as exc:
            log.warning("consumer close failed", extra={"fields": {"error": str(exc)}})
        self._flush_tallies()
        self.metrics.in_flight.set(self._in_flight)
        if self._fatal:
            log.error("worker stopped on a permanent failure", extra={"fields": {"error": self._fatal}})
            return 1
        log.info(
            "worker stopped",
            extra={"fields": {"consumed": self.consumed_total, "undelivered": left}},
        )
        return 1 if left else 0

    def busy_seconds(self) -> float:
        """From the first input consumed to the end of the loop (throughput without the group join)."""
        if self.first_input_at is None or self.stopped_at is None:
            return 0.0
        return self.stopped_at - self.first_input_at

    def _fail(self, reason: str) -> None:
        if self._fatal is None:
            self._fatal = reason
            self.health.failed = reason
            log.error(
                "permanent failure; stopping without committing past it", extra={"fields": {"error": reason}}
            )

    def _blocked(self, room: int) -> bool:
        """Whether to hold consumption this iteration (in-flight limit), pausing if it lasts."""
        if self._paused:
            if self._in_flight <= self._max_in_flight * RESUME_FRACTION:
                log.info(
                    "in-flight work back under the limit; resuming",
                    extra={"fields": {"in_flight": self._in_flight}},
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
        if self._in_flight <= self._max_in_flight * RESUME_FRACTION:
            self._blocked_since = None
            return False
        if time.monotonic() - self._blocked_since >= HARD_PAUSE_AFTER_S:
            log.info(
                "in-flight limit reached for a while; pausing the input partitions",
                extra={"fields": {"in_flight": self._in_flight, "queued": len(self.producer or ())}},
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

    # ---- per input -------------------------------------------------------------------------

    def _handle_batch(self, msgs: list[Message]) -> None:
        """Map and produce one batch. The per-event path is kept to plain local operations: metric
        tallies are plain ints (added to Prometheus once per loop iteration), the mapping-duration
        histogram is counted inline, and the envelope's produce call is positional with its delivery
        callback a `partial` of a bound method fetched once per batch."""
        trackers = self._trackers
        transform, validate, dumps = self._transform, self._validate, orjson.dumps
        topic_for = self.router.topic
        delivered = self._envelope_delivered
        assert self.producer is not None
        produce = self.producer.produce
        hist = self.metrics.mapping_duration
        counts, bounds = hist.counts, hist.bounds
        spent = 0.0  # mapping seconds of this batch, added to the histogram's sum once
        max_bytes = self._max_bytes
        perf = time.perf_counter
        consumed = produced = 0
        for msg in msgs:
            if self._fatal is not None:
                break  # the rest stays unconsumed as far as commits go: a restart reads it again
            err = msg.error()
            if err is not None:
                self._on_consume_error(err)
                continue
            topic, part, offset = msg.topic(), msg.partition(), msg.offset()
            tracker = trackers.get((topic, part))
            if tracker is None:  # not seen through on_assign (should not happen); track it anyway
                tracker = trackers[(topic, part)] = PartitionOffsets(topic, part)
            consumed += 1
            value = msg.value()
            if value is None:  # a tombstone: no event to map; counted, not a failure
                tracker.add(offset, 0)
                self._skipped["tombstone"] += 1
                continue
            if len(value) > max_bytes:
                self._dead_letter(msg, tracker, "size", "RecordTooLarge", f"input of {len(value)} bytes")
                continue
            t0 = perf()
            try:
                out = transform(value)
            except UnmappedEventError as exc:
                took = perf() - t0
                counts[bisect_left(bounds, took)] += 1
                spent += took
                self._unmapped_input(msg, tracker, exc.event_name)
                continue
            except MappingError as exc:
                took = perf() - t0
                counts[bisect_left(bounds, took)] += 1
                spent += took
                self._dead_letter(msg, tracker, exc.stage, dlq.class_name(exc), exc.reason)
                continue
            except Exception as exc:  # a mapping bug must not stop the stream: dead-letter it
                self._dead_letter(msg, tracker, "map", dlq.class_name(exc), str(exc) or repr(exc))
                continue
            if validate is not None:
                violations = validate(out.envelope)
                if violations:
                    text = "; ".join(str(v) for v in violations[:10])
                    self._dead_letter(msg, tracker, "validate", "mappings.validator.Violation", text)
                    continue
            try:
                payload = dumps(out.envelope)
            except (TypeError, orjson.JSONEncodeError) as exc:
                self._dead_letter(msg, tracker, "serialize", dlq.class_name(exc), str(exc))
                continue
            took = perf() - t0
            counts[bisect_left(bounds, took)] += 1
            spent += took
            if len(payload) > max_bytes:
                reason = f"envelope of {len(payload)} bytes"
                self._dead_letter(msg, tracker, "size", "RecordTooLarge", reason)
                continue
            tracker.add(offset, 1)
            produced += 1
            event = out.event
            # eventTime is parsed only once acknowledged (see _flush_tallies), in a batch.
            cb = partial(delivered, tracker, offset, out.profile, event.get("eventTime"))
            out_topic = topic_for(out.profile, out.event_name)
            try:
                produce(out_topic, payload, routing_key(event), -1, cb)
            except (BufferError, KafkaException):  # queue full, or an error: the careful path
                self._produce(out_topic, payload, routing_key(event), None, cb)
        # Counted once per batch: a report served mid-batch (full queue) may decrement first, but
        # nothing reads the count until the batch is done.
        self._in_flight += produced
        hist.sum += spent
        self._consumed += consumed
        self.consumed_total += consumed
        if msgs:
            self.health.last_progress = time.monotonic()
            if self.first_input_at is None:
                self.first_input_at = self.health.last_progress

    def _dead_letter(
        self, msg: Message, tracker: PartitionOffsets, stage: str, cls: str, reason: str
    ) -> None:
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
        log.debug("dead letter", extra={"fields": {"stage": stage, "offset": msg.offset(), "reason": reason}})
        tracker.add(msg.offset(), 1)
        self._in_flight += 1
        cb = partial(self._delivered, tracker, msg.offset(), DEAD, stage)
        self._produce(self._dlq_topic, msg.value(), msg.key(), headers, cb, stage=stage)

    def _unmapped_input(self, msg: Message, tracker: PartitionOffsets, event_name: str) -> None:
        if not self._unmapped_to_topic:
            tracker.add(msg.offset(), 0)
            self._skipped["unmapped"] += 1
            return
        headers = dlq.unmapped_headers(
            msg.headers(),
            event_name=event_name,
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
        )
        tracker.add(msg.offset(), 1)
        self._in_flight += 1
        cb = partial(self._delivered, tracker, msg.offset(), UNMAPPED, event_name)
        self._produce(self._unmapped_topic, msg.value(), msg.key(), headers, cb)

    def _produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: list[tuple[str, bytes]] | None,
        cb: partial,
        stage: str | None = None,
    ) -> None:
        """Produce, waiting for queue room on BufferError; the input is tracked before this call."""
        assert self.producer is not None
        producer = self.producer
        while True:
            try:
                producer.produce(topic, value, key, headers=headers, on_delivery=cb)
                return
            except BufferError:
                producer.poll(0.05)  # serves delivery reports, which frees queue room
                if self._fatal is not None:
                    return
            except KafkaException as exc:
                err = exc.args[0]
                if stage == "size" and err.code() == KafkaError.MSG_SIZE_TOO_LARGE and value is not None:
                    # The record is too big even for the dead-letter topic: keep its headers, drop the value.
                    headers = [*(headers or []), (dlq.VALUE_DROPPED, b"true")]
                    value = None
                    continue
                self.metrics.produce_errors.inc()
                self._fail(f"produce to {topic} failed: {err.str()}")
                return

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
        self._produced[profile] += 1
        self._acked_times.append(event_time)
        if tracker.ack(offset):
            self._in_flight -= 1
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
        (self._dead if kind == DEAD else self._unmapped)[label] += 1
        if tracker.ack(offset):
            self._in_flight -= 1
            self._done_since_commit += 1

    def _delivery_failed(self, offset: int, err: KafkaError, msg: Message) -> None:
        self.metrics.produce_errors.inc()
        self._fail(f"delivery to {msg.topic()} failed for input offset {offset}: {err.str()}")

    def _observe_lags(self) -> None:
        """End-to-end lag of the envelopes acknowledged since the last call, against one clock reading.

        One `time.time()` per loop iteration instead of one per envelope: the loop serves delivery
        reports (`poll(0)`, or `flush` at revoke and shutdown) right before this runs, so the reading
        is the acknowledgement time to within microseconds. Reports served earlier, while a full
        producer queue is waited out in the middle of a batch, are stamped late by the rest of that
        batch (milliseconds), which only errs on the side of a higher lag.
        """
        times = self._acked_times
        if not times:
            return
        hist = self.metrics.end_to_end_lag
        counts, bounds = hist.counts, hist.bounds
        now = time.time()
        parse = datetime.fromisoformat
        total = 0.0
        for value in times:
            if type(value) is not str:
                continue
            try:
                lag = now - parse(value).timestamp()
            except ValueError:
                continue
            if lag < 0.0:  # clock skew between Canvas and us
                lag = 0.0
            counts[bisect_left(bounds, lag)] += 1
            total += lag
        hist.sum += total
        times.clear()

    def _flush_tallies(self) -> None:
        self._observe_lags()
        if self._consumed or self._produced or self._dead or self._unmapped or self._skipped:
            self.metrics.add_batch(
                consumed=self._consumed,
                produced=self._produced,
                dead=self._dead,
                unmapped=self._unmapped,
                skipped=self._skipped,
            )
            if self._consumed:
                self.metrics.last_progress.set(time.time())
            self._consumed = 0
            self._produced.clear()
            self._dead.clear()
            self._unmapped.clear()
            self._skipped.clear()

    # ---- commits ---------------------------------------------------------------------------

    def _commit(self, sync: bool = False, only: list[tuple[str, int]] | None = None) -> None:
        if self.consumer is None:
            return
        keys = only if only is not None else list(self._trackers)
        offsets = []
        for key in keys:
            tracker = self._trackers.get(key)
            if tracker is not None:
                off = tracker.committable()
                if off is not None:
                    offsets.append(TopicPartition(key[0], key[1], off))
        self._done_since_commit = 0
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=not sync)
        except KafkaException as exc:
            log.warning("commit failed; will retry", extra={"fields": {"error": exc.args[0].str()}})
            return
        for tp in offsets:
            self._trackers[(tp.topic, tp.partition)].mark_committed(tp.offset)
        self.metrics.commits.inc()
        self.metrics.last_progress.set(time.time())
        self.health.last_progress = time.monotonic()

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if err is None:
            return
        log.warning("asynchronous commit failed; will retry", extra={"fields": {"error": err.str()}})
        for tp in partitions:
            tracker = self._trackers.get((tp.topic, tp.partition))
            if tracker is not None:
                tracker.committed = None  # commit again at the next interval

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
            self._trackers[key] = PartitionOffsets(tp.topic, tp.partition)
            if self.exit_when_drained:
                low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
                # (where this group starts reading, the high watermark): nothing to read when equal
                self._drain_targets[key] = (max(committed.get(key, low), low), high)
        self._assigned_once = self._assigned_once or bool(partitions)
        self._set_assigned()
        log.info("partitions assigned", extra={"fields": {"partitions": _names(partitions)}})
        if self._paused and partitions:
            self._repause = True  # assigned after the pause: paused too on the next iteration

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Finish the revoked partitions' work and commit it, so the next owner starts after it."""
        self.metrics.rebalances.labels("revoked").inc()
        keys = [(tp.topic, tp.partition) for tp in partitions]
        if self.producer is not None and any(
            self._trackers.get(k) and self._trackers[k].in_flight for k in keys
        ):
            left = self.producer.flush(0 if self._fatal else self._revoke_flush_s)
            if left:
                log.warning("outputs still undelivered at revoke", extra={"fields": {"undelivered": left}})
        self._flush_tallies()
        self._commit(sync=True, only=keys)  # only what is done: safe even after a failure
        self._drop(keys)
        log.info("partitions revoked", extra={"fields": {"partitions": _names(partitions)}})

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Another member may own them already: committing now could move its offsets; drop state."""
        self.metrics.rebalances.labels("lost").inc()
        self._drop([(tp.topic, tp.partition) for tp in partitions])
        log.warning("partitions lost", extra={"fields": {"partitions": _names(partitions)}})

    def _drop(self, keys: list[tuple[str, int]]) -> None:
        for key in keys:
            self._trackers.pop(key, None)
            self._drain_targets.pop(key, None)
            with contextlib.suppress(KeyError):
                self.metrics.consumer_lag.remove(key[0], str(key[1]))
        self._set_assigned()

    def _set_assigned(self) -> None:
        n = len(self._trackers)
        self.metrics.assigned.set(n)
        self.health.assigned = n

    def _drained(self) -> bool:
        """Every assigned partition read to its high watermark, delivered, and committed.

        The high watermarks are those at assignment, checked once more on arrival (records produced
        meanwhile are read too), at most MAX_DRAIN_RECHECKS times so a live stream still ends.
        """
        if not self._assigned_once or not self._trackers or self._in_flight:
            return False
        for key, tracker in self._trackers.items():
            target = self._drain_targets.get(key)
            if target is None:
                return False
            start, high = target
            if high > start and (tracker.position is None or tracker.position < high):
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
        self._commit(sync=True)
        return all(t.committable() is None for t in self._trackers.values())

    # ---- librdkafka callbacks ----------------------------------------------------------------

    def _on_stats(self, raw: str) -> None:
        try:
            stats = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        gauge = self.metrics.consumer_lag
        for topic, tstats in (stats.get("topics") or {}).items():
            for part, pstats in (tstats.get("partitions") or {}).items():
                if part == "-1" or (topic, int(part)) not in self._trackers:
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
            self._fail(f"fatal {client} error: {err.str()}")
        else:
            fields = {"client": client, "error": err.str(), "code": err.name()}
            log.warning("kafka client error", extra={"fields": fields})

    def _on_consume_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fail(f"fatal consumer error: {err.str()}")
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
