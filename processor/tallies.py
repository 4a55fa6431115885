"""Per-batch counts, added to the Prometheus metrics once per loop iteration.

A prometheus_client increment takes a lock, too dear to pay several times per event: the loop and the
delivery strategies count in plain ints and Counters here, and `flush()` moves them to `Metrics`.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from datetime import datetime

from processor.metrics import Metrics


class Tallies:
    """What happened since the last flush. Only the loop thread writes it (callbacks run there too)."""

    __slots__ = ("acked_times", "consumed", "dead", "metrics", "produced", "skipped", "unmapped")

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.consumed = 0
        self.produced: Counter[str] = Counter()  # envelopes acknowledged (or committed), by profile
        self.dead: Counter[str] = Counter()  # by stage
        self.unmapped: Counter[str] = Counter()  # by event name
        self.skipped: Counter[str] = Counter()  # by reason
        self.acked_times: list[object] = []  # eventTime of each envelope done since the last flush

    def flush(self) -> None:
        self._observe_lags()
        if self.consumed or self.produced or self.dead or self.unmapped or self.skipped:
            self.metrics.add_batch(
                consumed=self.consumed,
                produced=self.produced,
                dead=self.dead,
                unmapped=self.unmapped,
                skipped=self.skipped,
            )
            if self.consumed:
                self.metrics.last_progress.set(time.time())
            self.consumed = 0
            self.produced.clear()
            self.dead.clear()
            self.unmapped.clear()
            self.skipped.clear()

    def _observe_lags(self) -> None:
        """End-to-end lag of the envelopes done since the last call, against one clock reading.

        One `time.time()` per loop iteration instead of one per envelope: the loop serves delivery
        reports (or commits a transaction) right before this runs, so the reading is the time the
        envelope became readable to within microseconds. Reports served earlier, while a full
        producer queue is waited out in the middle of a batch, are stamped late by the rest of that
        batch (milliseconds), which only errs on the side of a higher lag.
        """
        times = self.acked_times
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
