"""Kafka plumbing of the bench: topics, the input load, and what the broker says about a finished run.

Every topic the bench creates uses `message.timestamp.type=LogAppendTime`, so the broker stamps
each record when it is written: throughput spans and latencies are then read off one clock (the
broker's) for every contender, with no clock in the contenders themselves.
"""

from __future__ import annotations

import contextlib
import glob
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bench.generator import Event
from bench.settings import REPO

LOG_APPEND = {"message.timestamp.type": "LogAppendTime"}

# The tuned load producer: big lz4 batches, many in flight; idempotence keeps order on retries.
LOAD_PRODUCER = {
    "linger.ms": 50,
    "batch.size": 1_000_000,
    "batch.num.messages": 10_000,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 1_048_576,
    "enable.idempotence": True,
    "acks": "all",
}


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topics(bootstrap: str, names: Iterable[str], partitions: int, *, timeout: float = 60) -> None:
    """Create fresh LogAppendTime topics (an existing one is an error: runs never share topics)."""
    names = list(names)
    if not names:
        return
    client = admin(bootstrap)  # keep a reference: the futures die with the handle
    futures = client.create_topics(
        [NewTopic(n, partitions, 1, config=dict(LOG_APPEND)) for n in names], operation_timeout=timeout
    )
    for fut in futures.values():
        fut.result(timeout)
    _wait_for_metadata(bootstrap, names, partitions, timeout)


def _wait_for_metadata(bootstrap: str, names: list[str], partitions: int, timeout: float) -> None:
    """Topic creation returns before every partition has a leader; producing earlier fails."""
    client = admin(bootstrap)
    deadline = time.monotonic() + timeout
    while True:
        md = client.list_topics(timeout=10)
        ready = all(
            n in md.topics
            and len(md.topics[n].partitions) == partitions
            and all(p.leader >= 0 for p in md.topics[n].partitions.values())
            for n in names
        )
        if ready:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics {names} have no leaders after {timeout} s")
        time.sleep(0.2)


def delete_topics(bootstrap: str, names: Iterable[str], *, timeout: float = 60) -> None:
    names = list(names)
    if not names:
        return
    client = admin(bootstrap)
    for fut in client.delete_topics(names, operation_timeout=timeout).values():
        with contextlib.suppress(KafkaException):  # already gone
            fut.result(timeout)


def load(bootstrap: str, topic: str, events: Iterable[Event], *, config: dict | None = None) -> dict:
    """Produce every event and wait for all acknowledgements; returns counts, bytes and rate."""
    producer = Producer({"bootstrap.servers": bootstrap, **LOAD_PRODUCER, **(config or {})})
    errors: list[str] = []

    def on_delivery(err, _msg) -> None:
        if err is not None:
            errors.append(str(err))

    started = time.perf_counter()
    count = size = 0
    produce, poll = producer.produce, producer.poll
    for event in events:
        while True:
            try:
                produce(topic, event.value, event.key, on_delivery=on_delivery)
                break
            except BufferError:
                poll(0.05)
        count += 1
        size += len(event.value)
        if count % 5000 == 0:
            poll(0)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - started
    if remaining or errors:
        raise RuntimeError(f"loading {topic}: {remaining} unacknowledged, errors {errors[:3]}")
    return {"events": count, "bytes": size, "seconds": round(elapsed, 3), "events_per_s": count / elapsed}


def watermarks(
    bootstrap: str, topics: Iterable[str], isolation: str = "read_uncommitted"
) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (low, high) for every partition of the topics; read_committed gives the
    last stable offset instead of the high watermark (they differ while a transaction is open)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench-watermarks", "isolation.level": isolation}
    )
    try:
        md = consumer.list_topics(timeout=10)
        marks = {}
        for topic in topics:
            for p in md.topics[topic].partitions:
                marks[(topic, p)] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        return marks
    finally:
        consumer.close()


def settle(bootstrap: str, topics: list[str], timeout: float = 15.0) -> bool:
    """Wait until every partition's last stable offset reached its high watermark: the commit markers
    of a transaction are written after `commit_transaction` returned, so right after a transactional
    producer exits its last records may still be unreadable to read_committed consumers."""
    deadline = time.monotonic() + timeout
    while True:
        if watermarks(bootstrap, topics, "read_committed") == watermarks(bootstrap, topics):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def record_count(bootstrap: str, topics: Iterable[str]) -> int:
    return sum(high - low for low, high in watermarks(bootstrap, topics).values())


@dataclass(frozen=True, slots=True)
class AppendSpan:
    """First and last log-append time (ms) over a set of topics, and how many records they hold."""

    first_ms: int
    last_ms: int
    records: int

    @property
    def seconds(self) -> float:
        return max(0.001, (self.last_ms - self.first_ms) / 1000)


TAIL = 64  # records read back from the end of each partition for its last log-append time


def append_span(bootstrap: str, topics: Iterable[str]) -> AppendSpan | None:
    """Read only the first and last record of every non-empty partition: LogAppendTime grows
    within a partition, so those two bound the whole run without reading it back."""
    marks = {tp: lh for tp, lh in watermarks(bootstrap, topics).items() if lh[1] > lh[0]}
    if not marks:
        return None
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-span",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.max.bytes": 4_000_000,
            "max.partition.fetch.bytes": 1_000_000,
        }
    )
    stamps: list[int] = []
    # The first record of each partition, then the last ones: a transactional producer's partitions
    # end in a commit marker (an offset no consumer is given), so the tail is read to its end.
    try:
        for start, whole in ((lambda low, high: low, False), (lambda low, high: max(low, high - TAIL), True)):
            wanted = {tp: start(*lh) for tp, lh in marks.items()}
            consumer.assign([TopicPartition(t, p, off) for (t, p), off in wanted.items()])
            deadline = time.monotonic() + 60
            while wanted:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no record at {sorted(wanted.items())[:3]}")
                for msg in consumer.consume(1000, 1.0):
                    tp = (msg.topic(), msg.partition())
                    if tp not in wanted:
                        continue
                    err = msg.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            del wanted[tp]
                        continue
                    stamps.append(msg.timestamp()[1])
                    if not whole:
                        del wanted[tp]
            consumer.unassign()
    finally:
        consumer.close()
    first, last = min(stamps), max(stamps)
    return AppendSpan(first_ms=first, last_ms=last, records=sum(h - lo for lo, h in marks.values()))


def committed_fraction(bootstrap: str, group: str, topic: str) -> float:
    """Share of the input the group has committed (1.0 once at-least-once commits caught up)."""
    marks = watermarks(bootstrap, [topic])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(t, p) for t, p in marks], timeout=10)
    finally:
        consumer.close()
    done = total = 0
    for tp in committed:
        low, high = marks[(tp.topic, tp.partition)]
        total += high - low
        done += max(0, tp.offset - low) if tp.offset >= 0 else 0
    return done / total if total else 1.0


def read_all(
    bootstrap: str, topics: Iterable[str], *, timeout: float = 120
) -> Iterator[tuple[str, bytes, int]]:
    """Every record of the topics as (topic, value, log-append ms), reading each partition to its
    high watermark as of the call."""
    marks = {tp: lh for tp, lh in watermarks(bootstrap, topics).items() if lh[1] > lh[0]}
    if not marks:
        return
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-read-all",
            "enable.auto.commit": False,
            "enable.partition.eof": True,  # a transactional partition ends in a marker, not a record
        }
    )
    try:
        consumer.assign([TopicPartition(t, p, low) for (t, p), (low, _) in marks.items()])
        left = {tp: high for tp, (_, high) in marks.items()}
        deadline = time.monotonic() + timeout
        while left:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading back {len(left)} partitions timed out")
            for msg in consumer.consume(1000, 1.0):
                tp = (msg.topic(), msg.partition())
                high = left.get(tp)
                if high is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        del left[tp]
                    continue
                yield msg.topic(), msg.value(), msg.timestamp()[1]
                if msg.offset() >= high - 1:
                    del left[tp]
    finally:
        consumer.close()


def log_dir(bootstrap: str, env: dict[str, str]) -> Path | None:
    """The data directory of the broker, when it is the local one (deploy/local-kafka/kafka.sh) or
    BENCH_KAFKA_DATA_DIR names it; None for a broker elsewhere (its segments cannot be sized here)."""
    named = env.get("BENCH_KAFKA_DATA_DIR", "").strip()
    if named:
        return Path(named)
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        return None
    state = env.get("KAFKA_STATE_DIR") or str(REPO / ".local-kafka" / port)
    data = Path(state) / "data"
    return data if data.is_dir() else None


def log_bytes(data_dir: Path, topics: Iterable[str]) -> int:
    """Bytes of the topics' log segments on disk: the record batches as the broker stores them
    (compressed as the producer sent them, batch headers included; no index files)."""
    total = 0
    for topic in topics:
        for part in data_dir.glob(f"{glob.escape(topic)}-*"):
            if part.name.rpartition("-")[0] == topic and part.name.rpartition("-")[2].isdigit():
                total += sum(f.stat().st_size for f in part.glob("*.log"))
    return total
