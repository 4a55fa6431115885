"""The harness is real: consumer groups, partition split and transactions against the broker."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


def _consume(consumer: Consumer, want: int, timeout: float = 30.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=500, timeout=0.5):
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(msg.error())
            got.append(msg)
    return got


def _consumer(bootstrap: str, group: str, **extra) -> Consumer:
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
    }
    conf.update(extra)
    return Consumer(conf)


def test_group_consume_with_manual_commit_resumes_after_commit(kafka_bootstrap, make_topic):
    topic = make_topic("smoke", partitions=2)
    group = f"g-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    for i in range(20):
        producer.produce(topic, key=str(i).encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0

    first = _consumer(kafka_bootstrap, group)
    first.subscribe([topic])
    msgs = _consume(first, 20)
    assert sorted(m.value() for m in msgs) == sorted(f"v{i}".encode() for i in range(20))
    # Commit only the first 5 records of each partition, then leave the group.
    offsets = [TopicPartition(topic, p, 5) for p in (0, 1)]
    first.commit(offsets=offsets, asynchronous=False)
    first.close()

    second = _consumer(kafka_bootstrap, group)
    second.subscribe([topic])
    rest = _consume(second, 10)
    second.close()
    per_partition = {p: sum(1 for m in msgs if m.partition() == p) for p in (0, 1)}
    assert len(rest) == sum(n - 5 for n in per_partition.values())
    assert all(m.offset() >= 5 for m in rest)


def test_two_consumers_in_one_group_split_the_partitions(kafka_bootstrap, make_topic):
    topic = make_topic("split", partitions=4)
    group = f"g-{uuid.uuid4().hex[:8]}"
    a, b = _consumer(kafka_bootstrap, group), _consumer(kafka_bootstrap, group)
    a.subscribe([topic])
    b.subscribe([topic])
    deadline = time.monotonic() + 60
    assigned_a: set[int] = set()
    assigned_b: set[int] = set()
    while time.monotonic() < deadline:
        a.poll(0.2)
        b.poll(0.2)
        assigned_a = {tp.partition for tp in a.assignment()}
        assigned_b = {tp.partition for tp in b.assignment()}
        if assigned_a and assigned_b and len(assigned_a | assigned_b) == 4:
            break
    a.close()
    b.close()
    assert assigned_a and assigned_b, (assigned_a, assigned_b)
    assert assigned_a.isdisjoint(assigned_b)
    assert assigned_a | assigned_b == {0, 1, 2, 3}


def test_read_committed_sees_committed_transactions_only(kafka_bootstrap, make_topic):
    topic = make_topic("txn", partitions=1)
    tx = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"tx-{uuid.uuid4().hex[:8]}"})
    tx.init_transactions(60)
    tx.begin_transaction()
    for i in range(5):
        tx.produce(topic, value=f"committed-{i}".encode())
    tx.commit_transaction(60)
    tx.begin_transaction()
    tx.produce(topic, value=b"aborted")
    tx.flush(30)
    tx.abort_transaction(60)
    tx.begin_transaction()
    tx.produce(topic, value=b"committed-after-abort")
    tx.commit_transaction(60)

    reader = _consumer(kafka_bootstrap, f"r-{uuid.uuid4().hex[:8]}", **{"isolation.level": "read_committed"})
    reader.subscribe([topic])
    seen = [m.value() for m in _consume(reader, 6, timeout=30)]
    reader.poll(1.0)  # anything past the committed records would show up here
    seen += [m.value() for m in _consume(reader, 1, timeout=2)]
    reader.close()
    assert seen == [f"committed-{i}".encode() for i in range(5)] + [b"committed-after-abort"]

    uncommitted = _consumer(
        kafka_bootstrap, f"u-{uuid.uuid4().hex[:8]}", **{"isolation.level": "read_uncommitted"}
    )
    uncommitted.subscribe([topic])
    raw = [m.value() for m in _consume(uncommitted, 7, timeout=30)]
    uncommitted.close()
    assert b"aborted" in raw, "read_uncommitted must see the aborted record"


@pytest.mark.parametrize("partitions", [3])
def test_make_topic_creates_requested_partitions(admin, make_topic, partitions):
    topic = make_topic("parts", partitions=partitions)
    meta = admin.list_topics(topic, timeout=10)
    assert len(meta.topics[topic].partitions) == partitions
