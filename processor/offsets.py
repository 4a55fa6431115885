"""Which input offsets are safe to commit, per input partition.

An input is done when every output it produced (envelope, dead letter or unmapped copy) has been
acknowledged by the broker. Outputs go to different topics and partitions, so acknowledgements
arrive out of input order; the committable position of a partition is the offset just past the
longest prefix of done inputs. Committing it means that after a crash the group resumes at the
first input that may not be fully written: nothing is lost, and what is replayed is bounded by the
inputs that were in flight or done-but-not-yet-committed.
"""

from __future__ import annotations

from collections import deque


class PartitionOffsets:
    """Inputs of one partition in offset order, each with its count of unacknowledged outputs.

    Inputs are added in increasing offset order (the consumer hands them out that way); offsets may
    have gaps (compaction, transaction markers), which is why positions are `last done + 1`.
    """

    __slots__ = ("_pending", "_queue", "committed", "partition", "position", "topic")

    def __init__(self, topic: str, partition: int, committed: int | None = None) -> None:
        self.topic = topic
        self.partition = partition
        self._queue: deque[list[int]] = deque()  # [offset, outstanding outputs], in offset order
        self._pending: dict[int, list[int]] = {}
        # Offset the next commit would store (None until an input of this assignment is done).
        self.position: int | None = committed
        # Offset last committed for this partition in this assignment (None: nothing yet).
        self.committed: int | None = committed

    def add(self, offset: int, outputs: int) -> None:
        """Record a consumed input and how many outputs it sent (0 for a deliberate skip)."""
        entry = [offset, outputs]
        self._queue.append(entry)
        if outputs:
            self._pending[offset] = entry
        else:
            self._advance()

    def ack(self, offset: int) -> bool:
        """One output of the input at `offset` was acknowledged; True when that finished the input."""
        entry = self._pending.get(offset)
        if entry is None:
            return False
        if entry[1] > 1:
            entry[1] -= 1
            return False
        entry[1] = 0
        del self._pending[offset]
        queue = self._queue  # _advance, inlined: this runs once per output
        while queue and queue[0][1] <= 0:
            self.position = queue.popleft()[0] + 1
        return True

    def _advance(self) -> None:
        queue = self._queue
        while queue and queue[0][1] <= 0:
            self.position = queue.popleft()[0] + 1

    @property
    def in_flight(self) -> int:
        """Inputs consumed and not yet done (including done ones behind an unfinished one)."""
        return len(self._queue)

    def committable(self) -> int | None:
        """The offset to commit now, or None when there is nothing new since the last commit."""
        if self.position is None or (self.committed is not None and self.position <= self.committed):
            return None
        return self.position

    def mark_committed(self, offset: int) -> None:
        if self.committed is None or offset > self.committed:
            self.committed = offset
