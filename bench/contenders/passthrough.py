"""The ceiling: copy every input record unchanged to one output topic, at-least-once.

Same consumer and producer settings as the other contenders, batched consume, and the same commit
rule as the worker (an input offset is committed only once its output is acknowledged, the highest
contiguous one per partition), so the gap to the worker is the cost of mapping and routing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import deque

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from bench.clientconfig import COMMIT_INTERVAL_S, CONSUME_BATCH, CONSUMER, PRODUCER


class PartitionOffsets:
    """Offsets of one input partition in consume order; `committable` is one past the highest
    offset below which every output is acknowledged (acks come back out of order)."""

    __slots__ = ("done", "pending")

    def __init__(self) -> None:
        self.pending: deque[int] = deque()
        self.done: set[int] = set()

    def add(self, offset: int) -> None:
        self.pending.append(offset)

    def ack(self, offset: int) -> None:
        self.done.add(offset)

    def committable(self) -> int | None:
        last = None
        pending, done = self.pending, self.done
        while pending and pending[0] in done:
            last = pending.popleft()
            done.discard(last)
        return None if last is None else last + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--expected", type=int, required=True, help="stop after this many inputs")
    args = parser.parse_args(argv)

    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group, **CONSUMER})
    producer = Producer({"bootstrap.servers": args.bootstrap, **PRODUCER})
    offsets: dict[int, PartitionOffsets] = {}
    acked = 0
    failed: list[str] = []

    def delivered(err, _msg, partition: int, offset: int) -> None:
        nonlocal acked
        if err is not None:
            failed.append(str(err))
            return
        acked += 1
        offsets[partition].ack(offset)

    def commit(asynchronous: bool) -> None:
        marks = []
        for part, tracker in offsets.items():
            nxt = tracker.committable()
            if nxt is not None:
                marks.append(TopicPartition(args.input, part, nxt))
        if marks:
            consumer.commit(offsets=marks, asynchronous=asynchronous)

    consumer.subscribe([args.input])
    consumed = 0
    first = None
    last_commit = time.monotonic()
    produce, poll = producer.produce, producer.poll
    while consumed < args.expected or acked < consumed:
        if failed:
            print(f"passthrough: produce failed: {failed[:3]}", file=sys.stderr)
            return 1
        batch = consumer.consume(CONSUME_BATCH, 0.2) if consumed < args.expected else []
        for msg in batch:
            if msg.error() is not None:
                continue
            part, offset = msg.partition(), msg.offset()
            tracker = offsets.get(part)
            if tracker is None:
                tracker = offsets[part] = PartitionOffsets()
            tracker.add(offset)
            while True:
                try:
                    produce(
                        args.output,
                        msg.value(),
                        msg.key(),
                        headers=msg.headers(),
                        on_delivery=lambda err, m, p=part, o=offset: delivered(err, m, p, o),
                    )
                    break
                except BufferError:
                    poll(0.01)
            consumed += 1
        if first is None and consumed:
            first = time.monotonic()
        poll(0 if batch else 0.05)
        if time.monotonic() - last_commit >= COMMIT_INTERVAL_S:
            commit(asynchronous=True)
            last_commit = time.monotonic()
    producer.flush(30)
    commit(asynchronous=False)
    consumer.close()
    elapsed = time.monotonic() - (first or time.monotonic())
    sys.stdout.write(orjson.dumps({"consumed": consumed, "acked": acked, "seconds": elapsed}).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
