"""Exactly-once: Kafka's consume-transform-produce pattern (KIP-447).

One transactional producer per worker. The envelopes, dead letters and unmapped copies of a set of
inputs, and those inputs' offsets (`send_offsets_to_transaction` with the consumer's group
metadata), commit in one transaction, so a read_committed consumer of the outputs sees each input's
outputs once: a crash before the commit aborts them together with the offsets, and the inputs are
read again. Outputs carry no delivery callback: `commit_transaction` flushes and fails when any
record of the transaction failed.

Transactions end by time (`transaction_interval_s`) or size (`transaction_max_inputs`), at a
revoke, and at shutdown. Errors, as librdkafka classifies them:

- abortable (`txn_requires_abort`): abort, rewind the consumer to the last committed offsets, go on;
- retriable (`retriable`, e.g. a commit that timed out): call the same operation again;
- fatal (fenced by a newer worker with the same transactional.id, not authorized, unsupported):
  stop with exit 1; the open transaction is aborted by the broker or by the successor.

A watchdog guards against librdkafka calls that ignore their timeout (librdkafka 5511 and 5456: after
a broker restart `send_offsets_to_transaction` may never return): a call stuck past its bound ends
the process with exit 1, and a restart, which aborts the open transaction, completes the job.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from processor.delivery.base import Delivery, Headers, Key, Services, mark_progress
from processor.pipeline import DEAD

log = logging.getLogger("processor.delivery")

# librdkafka's own bound on a transactional call; ours is this plus the slack below.
CALL_TIMEOUT_S = 30.0
WATCHDOG_SLACK_S = 30.0
NOT_READY_AFTER_S = 2.0  # a transactional call this long means the broker is not answering
MAX_COMMIT_RETRIES = 10
# A newer producer with our transactional.id took over (it bumped the epoch).
FENCED = {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}
INIT_FIRST_TIMEOUT_S = 5.0
WAIT_LOG_INTERVAL_S = 60.0


class TransactionHook:
    """Test seam: `fail_next_commit` makes the next commit abort, as an abortable error would."""

    fail_next_commit = False


class ExactlyOnce(Delivery):
    name = "exactly-once"
    hook = TransactionHook()

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        p = self.cfg.processor
        self.transactional_id = self.cfg.transactional_id()
        self._interval = p["transaction_interval_s"]
        self._max_inputs = min(p["transaction_max_inputs"], p["max_in_flight"])
        self._open = False
        self._opened_at = 0.0
        self._inputs = 0  # inputs in the open transaction
        # Next offset to read per partition: of the inputs handled so far, and as last committed.
        self._handled: dict[Key, int] = {}
        self._committed: dict[Key, int] = {}
        self._assigned: set[Key] = set()
        # Counts of the open transaction, moved to the tallies when it commits.
        self._produced: Counter[str] = Counter()
        self._dead: Counter[str] = Counter()
        self._unmapped: Counter[str] = Counter()
        self._event_times: list[object] = []
        self._call: tuple[str, float] | None = None  # the transactional call running, and since when
        self._produce: Any = None

    # ---- set-up ----------------------------------------------------------------------------

    def consumer_config(self, conf: dict[str, Any]) -> dict[str, Any]:
        # Inputs written by a transactional producer (e.g. another worker's outputs) are read committed.
        conf.setdefault("isolation.level", "read_committed")
        return conf

    def producer_config(self, conf: dict[str, Any]) -> dict[str, Any]:
        conf["transactional.id"] = self.transactional_id
        # librdkafka 2.16 re-bootstraps after a broker restart and then loses the transaction
        # coordinator: send_offsets_to_transaction hangs (librdkafka 5511). Without re-bootstrap
        # the producer reconnects to the brokers it knows.
        conf.setdefault("metadata.recovery.strategy", "none")
        return conf

    def start(self) -> None:
        """Fence any predecessor with our transactional.id and abort its open transaction."""
        producer = self.s.producer
        assert producer is not None
        self._produce = producer.produce
        threading.Thread(target=self._watchdog, name="txn-watchdog", daemon=True).start()
        t0 = time.monotonic()
        attempts, logged_at = 0, -1e9
        while True:
            attempts += 1
            # A short first try, so that a broker that is not there yet is reported within seconds.
            timeout = INIT_FIRST_TIMEOUT_S if attempts == 1 else CALL_TIMEOUT_S
            try:
                self._guarded("init_transactions", producer.init_transactions, timeout)
                break
            except KafkaException as exc:
                err = exc.args[0]
                if self.stopping:  # SIGTERM while waiting: nothing was read, nothing to commit
                    return
                if not err.retriable():
                    self.fail(f"init_transactions failed: {self.explain(err)}")
                    return
                now = time.monotonic()
                if now - logged_at >= WAIT_LOG_INTERVAL_S:  # once a minute, not once per try
                    logged_at = now
                    log.warning(
                        "waiting for the broker: transactions cannot be initialised yet",
                        extra={"fields": {"error": err.str(), "waited_s": round(now - t0, 1)}},
                    )
        log.info(
            "transactions initialised",
            extra={
                "fields": {
                    "transactional_id": self.transactional_id,
                    "seconds": round(time.monotonic() - t0, 3),
                }
            },
        )

    def describe(self) -> dict[str, Any]:
        return {
            "guarantee": self.name,
            "transactional_id": self.transactional_id,
            "transaction_interval_s": self._interval,
            "transaction_max_inputs": self._max_inputs,
        }

    # ---- the per-event calls -----------------------------------------------------------------

    def _begin(self) -> None:
        producer = self.s.producer
        assert producer is not None
        try:
            producer.begin_transaction()
        except KafkaException as exc:
            self._txn_error("begin_transaction", exc)
            return
        self._open = True
        self._opened_at = time.monotonic()

    def envelope(
        self, msg: Message, topic: str, payload: bytes, key: bytes | None, profile: str, event_time: object
    ) -> None:
        if not self._open:
            self._begin()
            if self.halted:
                return
        try:
            self._produce(topic, payload, key)
        except (BufferError, KafkaException):
            if not self.produce_careful(topic, payload, key, None):
                return
        self._handled[(msg.topic(), msg.partition())] = msg.offset() + 1
        self._inputs += 1
        self.in_flight += 1
        self._produced[profile] += 1
        self._event_times.append(event_time)

    def side(self, msg: Message, kind: int, label: str, topic: str, headers: Headers) -> None:
        if not self._open:
            self._begin()
            if self.halted:
                return
        stage = label if kind == DEAD else None
        if not self.produce_careful(topic, msg.value(), msg.key(), headers, stage=stage):
            return
        self._handled[(msg.topic(), msg.partition())] = msg.offset() + 1
        self._inputs += 1
        self.in_flight += 1
        (self._dead if kind == DEAD else self._unmapped)[label] += 1

    def skip(self, msg: Message) -> None:
        if not self._open:  # its offset still commits inside a transaction
            self._begin()
            if self.halted:
                return
        self._handled[(msg.topic(), msg.partition())] = msg.offset() + 1
        self._inputs += 1

    def produce_failed(self, topic: str, err: KafkaError) -> None:
        if err.txn_requires_abort():
            self._abort(f"produce to {topic}: {err.str()}")
            return
        super().produce_failed(topic, err)

    def explain(self, err: KafkaError) -> str:
        if err.code() in FENCED:
            return (
                f"fenced: another worker started with transactional.id {self.transactional_id!r} and "
                f"carries on; this one stops ({err.str()})"
            )
        return err.str()

    def before_batch(self) -> None:
        if self.fatal is None:
            self.halted = False  # a rewind halted the previous batch; this one starts after the seek

    # ---- commits -----------------------------------------------------------------------------

    def maybe_commit(self, now: float) -> None:
        if self._open and (now - self._opened_at >= self._interval or self._inputs >= self._max_inputs):
            self.commit()

    def commit_now(self) -> None:
        if self._open:
            self.commit()

    def commit(self) -> bool:
        """Send the handled offsets and commit; True when the transaction committed."""
        if not self._open:
            return True
        producer, consumer = self.s.producer, self.s.consumer
        assert producer is not None and consumer is not None
        offsets = [
            TopicPartition(k[0], k[1], off)
            for k, off in self._handled.items()
            if k in self._assigned and self._committed.get(k) != off
        ]
        try:
            if offsets:
                meta = consumer.consumer_group_metadata()
                self._retrying(
                    "send_offsets_to_transaction",
                    lambda: producer.send_offsets_to_transaction(offsets, meta, CALL_TIMEOUT_S),
                )
            if self.hook.fail_next_commit:
                # as commit_transaction fails after it flushed: records still in flight would be
                # purged by the abort, and the next transaction would abort again to bump the epoch
                self.hook.fail_next_commit = False
                producer.flush(CALL_TIMEOUT_S)
                raise _Abortable("transaction failed by the test hook")
            self._retrying("commit_transaction", lambda: producer.commit_transaction(CALL_TIMEOUT_S))
        except _Abortable as exc:
            self._abort(str(exc))
            return False
        except KafkaException as exc:
            self._txn_error("commit_transaction", exc)
            return False
        took = time.monotonic() - self._opened_at
        self._open = False
        for tp in offsets:
            self._committed[(tp.topic, tp.partition)] = tp.offset
        t = self.tallies
        t.produced.update(self._produced)
        t.dead.update(self._dead)
        t.unmapped.update(self._unmapped)
        t.acked_times.extend(self._event_times)
        self._clear_open()
        self.metrics.transactions.labels("committed").inc()
        self.metrics.transaction_duration.observe(took)
        mark_progress(self)
        return True

    def _retrying(self, what: str, call: Any) -> None:
        """Run a transactional call, again while librdkafka says retriable; raise _Abortable or fatal."""
        for attempt in range(1, MAX_COMMIT_RETRIES + 1):
            try:
                self._guarded(what, call)
                return
            except KafkaException as exc:
                err = exc.args[0]
                if err.retriable() and attempt < MAX_COMMIT_RETRIES:
                    log.warning(
                        f"{what} did not complete; retrying",
                        extra={"fields": {"error": err.str(), "attempt": attempt}},
                    )
                    continue
                if err.txn_requires_abort():
                    raise _Abortable(f"{what}: {err.str()}") from None
                raise

    def _txn_error(self, what: str, exc: KafkaException) -> None:
        err = exc.args[0]
        if err.txn_requires_abort():
            self._abort(f"{what}: {err.str()}")
        else:
            self.fail(f"{what} failed: {self.explain(err)}")

    def _abort(self, reason: str) -> None:
        """Abort the open transaction and rewind every assigned partition to its committed offset."""
        producer = self.s.producer
        assert producer is not None
        log.warning(
            "aborting the transaction; its inputs are read again", extra={"fields": {"reason": reason}}
        )
        try:
            self._guarded("abort_transaction", lambda: producer.abort_transaction(CALL_TIMEOUT_S))
        except KafkaException as exc:
            self.fail(f"abort_transaction failed: {self.explain(exc.args[0])}")
            return
        self.metrics.transactions.labels("aborted").inc()
        self._open = False
        self._clear_open()
        self._rewind(sorted(self._assigned))
        self.halted = True  # the rest of this batch is read again after the seek

    def _rewind(self, keys: list[Key]) -> None:
        consumer = self.s.consumer
        assert consumer is not None
        unknown = [TopicPartition(*k) for k in keys if k not in self._committed]
        if unknown:
            try:
                for tp in consumer.committed(unknown, timeout=CALL_TIMEOUT_S):
                    # No committed offset yet: where auto.offset.reset starts (earliest by default).
                    self._committed[(tp.topic, tp.partition)] = tp.offset
            except KafkaException as exc:
                self.fail(f"cannot read committed offsets to rewind: {exc.args[0].str()}")
                return
        for key in keys:
            off = self._committed[key]
            self._handled[key] = off
            try:
                consumer.seek(TopicPartition(key[0], key[1], off))
            except KafkaException as exc:
                self.fail(f"cannot rewind {key[0]}[{key[1]}] to {off}: {exc.args[0].str()}")
                return

    def _clear_open(self) -> None:
        self._inputs = 0
        self.in_flight = 0
        self._produced.clear()
        self._dead.clear()
        self._unmapped.clear()
        self._event_times.clear()

    def settled(self) -> bool:
        return not self._open

    def positions(self) -> dict[Key, int | None]:
        return {k: self._handled.get(k) for k in self._assigned}

    # ---- rebalances --------------------------------------------------------------------------

    def assigned(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            key = (tp.topic, tp.partition)
            self._assigned.add(key)
            self._handled.pop(key, None)
            self._committed.pop(key, None)

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Commit the open transaction while the partitions are still ours."""
        if self._open and self.fatal is None:
            self.commit()
        self._forget(partitions)

    def lost(self, partitions: list[TopicPartition]) -> None:
        """Another member may own them already: their offsets must not commit; abort the transaction."""
        self._forget(partitions)
        if self._open and self.fatal is None:
            self._abort("partitions lost")

    def _forget(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            key = (tp.topic, tp.partition)
            self._assigned.discard(key)
            self._handled.pop(key, None)
            self._committed.pop(key, None)

    # ---- shutdown ----------------------------------------------------------------------------

    def shutdown(self, budget_s: float) -> int:
        if self._open and self.fatal is None:
            self.commit()
        self.tallies.flush()
        return 0

    # ---- the watchdog ------------------------------------------------------------------------

    def _guarded(self, what: str, call: Any, *args: Any) -> Any:
        self._call = (what, time.monotonic())
        try:
            return call(*args)
        finally:
            self._call = None

    def _watchdog(self) -> None:
        bound = CALL_TIMEOUT_S + WATCHDOG_SLACK_S
        waiting = None  # what this thread last told /readyz
        while True:
            time.sleep(1.0)
            call = self._call
            # A loop blocked in a transactional call serves no statistics callback, which is what keeps
            # /readyz current: say not ready while a call waits on the broker for long.
            stuck = call is not None and time.monotonic() - call[1] > NOT_READY_AFTER_S
            if stuck and waiting is None:
                waiting = self.health.waiting_for = f"{call[0]} waiting for the broker"
            elif not stuck and waiting is not None:
                if self.health.waiting_for == waiting:
                    self.health.waiting_for = None
                waiting = None
            if call is not None and time.monotonic() - call[1] > bound:
                log.critical(
                    f"{call[0]} has not returned in {bound:.0f} s (librdkafka ignores its timeout); "
                    "exiting so that a restart aborts the open transaction",
                    extra={"fields": {"transactional_id": self.transactional_id}},
                )
                logging.shutdown()
                os._exit(1)


class _Abortable(Exception):
    """A transactional call failed in a way that aborting the transaction recovers from."""
