"""The worker's Prometheus metrics, in a registry of its own (so tests can build several workers).

The loop counts in plain ints per batch and adds them here once per batch: a prometheus_client
counter increment or histogram observation takes a lock, which is too dear to pay several times per
event. The two per-event histograms are therefore `LoopHistogram`s: plain-int bucket counts that
only the loop thread writes, exported by a collector of their own under the same names and type.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterator, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from processor.config import PROFILES
from processor.dlq import STAGES

LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400)
MAP_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)
TXN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
OTHER = "other"


class LoopHistogram:
    """A histogram for one writer thread: `counts[bisect_left(bounds, v)] += 1` and `sum` in plain
    Python numbers, no lock (the worker loop inlines exactly that in its per-event path).

    `counts` holds per-bucket (not cumulative) counts, the last one for values above every bound
    (+Inf). A scrape copies the list in one step, so the exported buckets and count always agree;
    `sum` is read separately and may be a few observations ahead or behind, as in any lock-free read.
    """

    __slots__ = ("bounds", "counts", "created", "documentation", "name", "sum")

    def __init__(self, name: str, documentation: str, bounds: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(float(b) for b in bounds)
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError(f"{name}: bucket bounds must be increasing and distinct")
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def metric(self) -> Metric:
        counts = self.counts.copy()
        cumulative, buckets = 0, []
        for bound, n in zip((*self.bounds, float("inf")), counts, strict=True):
            cumulative += n
            buckets.append((floatToGoString(bound), cumulative))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], buckets, self.sum)
        family.samples.append(Sample(f"{self.name}_created", {}, self.created))
        return family


class LoopHistograms:
    """Exports `LoopHistogram`s through a registry (a prometheus_client custom collector)."""

    def __init__(self, *histograms: LoopHistogram) -> None:
        self.histograms = histograms

    def collect(self) -> Iterator[Metric]:
        for h in self.histograms:
            yield h.metric()


class Metrics:
    """Every metric of INTERFACES.md, plus helpers to add a batch's tallies."""

    def __init__(self, *, unmapped_names_max: int = 200, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.inputs_consumed = Counter("caliper_inputs_consumed", "Input records consumed", registry=r)
        self.envelopes_produced = Counter(
            "caliper_envelopes_produced",
            "Caliper envelopes acknowledged by the broker",
            ["profile"],
            registry=r,
        )
        self.dead_letters = Counter(
            "caliper_dead_letters",
            "Inputs sent to the dead-letter topic, by failing stage",
            ["stage"],
            registry=r,
        )
        self.unmapped = Counter(
            "caliper_unmapped", "Inputs whose event name has no mapping", ["event_name"], registry=r
        )
        self.skipped = Counter("caliper_skipped", "Inputs deliberately skipped", ["reason"], registry=r)
        self.mapping_duration = LoopHistogram(
            "caliper_mapping_duration_seconds", "Time to decode, map and envelope one input", MAP_BUCKETS
        )
        self.end_to_end_lag = LoopHistogram(
            "caliper_end_to_end_lag_seconds",
            "Acknowledgement time of an envelope minus its eventTime",
            LAG_BUCKETS,
        )
        r.register(LoopHistograms(self.mapping_duration, self.end_to_end_lag))
        self.consumer_lag = Gauge(
            "caliper_consumer_lag",
            "Consumer lag per input partition (librdkafka)",
            ["topic", "partition"],
            registry=r,
        )
        self.rebalances = Counter("caliper_rebalances", "Rebalance events", ["kind"], registry=r)
        self.in_flight = Gauge("caliper_in_flight_inputs", "Inputs consumed and not yet done", registry=r)
        self.queue_depth = Gauge("caliper_producer_queue_depth", "Messages in the producer queue", registry=r)
        self.produce_errors = Counter("caliper_produce_errors", "Permanent produce failures", registry=r)
        self.commits = Counter("caliper_commits", "Offset commits", registry=r)
        self.assigned = Gauge("caliper_assigned_partitions", "Input partitions assigned", registry=r)
        # exactly-once: one transaction holds a set of inputs' outputs and their offsets
        self.guarantee = Info(
            "caliper_delivery", "The delivery guarantee in use (processor.guarantee)", registry=r
        )
        self.transactions = Counter(
            "caliper_transactions", "Kafka transactions ended, by outcome", ["outcome"], registry=r
        )
        self.transaction_duration = Histogram(
            "caliper_transaction_duration_seconds",
            "From the first output of a transaction to its commit",
            buckets=TXN_BUCKETS,
            registry=r,
        )
        self.last_progress = Gauge(
            "caliper_last_progress_timestamp_seconds",
            "Unix time of the last consumed or committed input",
            registry=r,
        )
        # Pre-create the bounded label sets so dashboards see zeros rather than gaps.
        for p in PROFILES:
            self.envelopes_produced.labels(p)
        for s in STAGES:
            self.dead_letters.labels(s)
        for k in ("assigned", "revoked", "lost"):
            self.rebalances.labels(k)
        for k in ("committed", "aborted"):
            self.transactions.labels(k)
        self._names_max = unmapped_names_max
        self._names: set[str] = set()

    def unmapped_label(self, event_name: str) -> str:
        """Event names come from the input: cap the distinct label values, the rest is "other"."""
        if event_name in self._names:
            return event_name
        if len(self._names) < self._names_max:
            self._names.add(event_name)
            return event_name
        return OTHER

    def add_batch(
        self,
        *,
        consumed: int = 0,
        produced: Tally[str] | None = None,
        dead: Tally[str] | None = None,
        unmapped: Tally[str] | None = None,
        skipped: Tally[str] | None = None,
    ) -> None:
        if consumed:
            self.inputs_consumed.inc(consumed)
        for profile, n in (produced or {}).items():
            self.envelopes_produced.labels(profile).inc(n)
        for stage, n in (dead or {}).items():
            self.dead_letters.labels(stage).inc(n)
        for name, n in (unmapped or {}).items():
            self.unmapped.labels(self.unmapped_label(name)).inc(n)
        for reason, n in (skipped or {}).items():
            self.skipped.labels(reason).inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def sample_value(metrics: Metrics, name: str, labels: dict[str, str] | None = None) -> float:
    """One sample's value (0 when absent); for summaries and tests."""
    value = metrics.registry.get_sample_value(name, labels or {})
    return 0.0 if value is None else value


def sum_samples(metrics: Metrics, name: str) -> float:
    """The sum over all label values of one counter sample name (e.g. caliper_dead_letters_total)."""
    total = 0.0
    for family in metrics.registry.collect():
        for s in family.samples:
            if s.name == name:
                total += s.value
    return total
