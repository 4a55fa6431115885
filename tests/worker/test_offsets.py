"""The offset tracker: commit only below the first input with an unacknowledged output."""

from __future__ import annotations

import random

from processor.offsets import PartitionOffsets


def test_nothing_committable_before_any_input_is_done() -> None:
    t = PartitionOffsets("in", 0)
    assert t.committable() is None
    t.add(5, 1)
    assert t.committable() is None
    assert t.in_flight == 1


def test_out_of_order_acks_commit_the_contiguous_prefix() -> None:
    t = PartitionOffsets("in", 0)
    for off in range(10, 15):
        t.add(off, 1)
    assert t.ack(12) and t.committable() is None  # 10 and 11 still pending
    assert t.ack(10) and t.committable() == 11
    t.mark_committed(11)
    assert t.committable() is None
    assert t.ack(14)
    assert t.committable() is None  # 11 still pending
    assert t.ack(11) and t.committable() == 13
    assert t.ack(13) and t.committable() == 15
    assert t.in_flight == 0


def test_an_input_with_several_outputs_is_done_after_the_last() -> None:
    t = PartitionOffsets("in", 0)
    t.add(0, 3)
    assert not t.ack(0) and not t.ack(0)
    assert t.committable() is None
    assert t.ack(0)
    assert t.committable() == 1


def test_skips_gaps_and_unknown_acks() -> None:
    t = PartitionOffsets("in", 0)
    t.add(3, 0)  # a deliberate skip is done at once
    assert t.committable() == 4
    t.add(7, 1)  # a gap in offsets (compaction): position follows the last done input
    t.add(9, 0)
    assert t.committable() == 4
    assert not t.ack(100)  # an ack for something never added changes nothing
    t.ack(7)
    assert t.committable() == 10


def test_random_ack_order_never_commits_past_a_pending_input() -> None:
    rng = random.Random(7)
    t = PartitionOffsets("in", 2)
    offsets = list(range(1000))
    outputs = {o: rng.choice((0, 1, 1, 2)) for o in offsets}
    for o in offsets:
        t.add(o, outputs[o])
    acks = [o for o in offsets for _ in range(outputs[o])]
    rng.shuffle(acks)
    remaining = {o: n for o, n in outputs.items() if n}
    last = None
    for o in acks:
        t.ack(o)
        remaining[o] -= 1
        if not remaining[o]:
            del remaining[o]
        c = t.committable()
        if c is not None:
            expected = min(remaining) if remaining else 1000
            assert c == expected
            assert last is None or c >= last
            last = c
            t.mark_committed(c)
    assert last == 1000 and t.in_flight == 0


def test_failed_commit_reset_allows_recommit() -> None:
    t = PartitionOffsets("in", 0)
    t.add(0, 1)
    t.ack(0)
    t.mark_committed(t.committable())
    assert t.committable() is None
    t.committed = None  # what the worker does when an asynchronous commit fails
    assert t.committable() == 1
