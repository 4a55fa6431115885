"""The worker's per-event bookkeeping without a broker: the lock-free histograms, what one batch adds
to the metrics, the produce call and its delivery reports (a stand-in producer serves them)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from processor.config import load
from processor.metrics import LoopHistogram, Metrics, sample_value
from processor.offsets import PartitionOffsets
from processor.routing import routing_key
from processor.worker import Worker

from .conftest import PROFILES, bad_samples, sample_events


def test_loop_histogram_counts_each_value_in_the_first_bucket_at_or_above_it() -> None:
    h = LoopHistogram("t_seconds", "Test.", (0.1, 1, 10))
    for v in (0.05, 0.1, 0.5, 1.0, 2, 10, 11, 500):
        h.observe(v)
    # le=0.1: 0.05 and 0.1 (a bound is inclusive); le=1: +0.5, 1.0; le=10: +2, 10; +Inf: +11, 500
    assert h.counts == [2, 2, 2, 2]
    assert h.sum == pytest.approx(524.65)
    fam = h.metric()
    assert fam.type == "histogram"
    samples = {(s.name, s.labels.get("le")): s.value for s in fam.samples}
    assert samples[("t_seconds_bucket", "0.1")] == 2
    assert samples[("t_seconds_bucket", "1.0")] == 4
    assert samples[("t_seconds_bucket", "10.0")] == 6
    assert samples[("t_seconds_bucket", "+Inf")] == 8
    assert samples[("t_seconds_count", None)] == 8
    assert samples[("t_seconds_sum", None)] == pytest.approx(524.65)
    assert samples[("t_seconds_created", None)] > 1_700_000_000


def test_loop_histogram_rejects_unsorted_bounds() -> None:
    with pytest.raises(ValueError, match="increasing"):
        LoopHistogram("t", "Test.", (1, 0.5))
    with pytest.raises(ValueError, match="increasing"):
        LoopHistogram("t", "Test.", (1, 1))


def test_the_histograms_are_exported_as_prometheus_histograms_under_their_names() -> None:
    m = Metrics()
    m.mapping_duration.observe(0.00002)
    m.end_to_end_lag.observe(3.0)
    m.end_to_end_lag.observe(100_000.0)
    families = {f.name: f for f in text_string_to_metric_families(m.render().decode())}
    for name in ("caliper_mapping_duration_seconds", "caliper_end_to_end_lag_seconds"):
        assert families[name].type == "histogram", name
    assert sample_value(m, "caliper_mapping_duration_seconds_bucket", {"le": "2.5e-05"}) == 1
    assert sample_value(m, "caliper_mapping_duration_seconds_bucket", {"le": "1e-05"}) == 0
    assert sample_value(m, "caliper_end_to_end_lag_seconds_bucket", {"le": "2.5"}) == 0
    assert sample_value(m, "caliper_end_to_end_lag_seconds_bucket", {"le": "5.0"}) == 1
    assert sample_value(m, "caliper_end_to_end_lag_seconds_bucket", {"le": "86400.0"}) == 1
    assert sample_value(m, "caliper_end_to_end_lag_seconds_count") == 2
    assert sample_value(m, "caliper_end_to_end_lag_seconds_sum") == 100_003.0


class FakeMessage:
    """The few Message methods the worker calls, for records it consumed or outputs it produced."""

    def __init__(
        self, topic: str, partition: int, offset: int, value: bytes | None, key: bytes | None = None
    ):
        self._t, self._p, self._o, self._v, self._k = topic, partition, offset, value, key

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def value(self) -> bytes | None:
        return self._v

    def key(self) -> bytes | None:
        return self._k

    def headers(self) -> None:
        return None


class FakeProducer:
    """Queues produce calls; `poll` serves their delivery reports, failing those for `fail_topics`,
    and the first `buffer_full` calls raise BufferError as a full librdkafka queue would."""

    def __init__(self, fail_topics: frozenset[str] = frozenset(), buffer_full: int = 0) -> None:
        self.calls: list[tuple] = []
        self.queue: list[tuple] = []
        self.fail_topics = fail_topics
        self.buffer_full = buffer_full

    def produce(self, topic, value=None, key=None, partition=-1, on_delivery=None, headers=None):
        if self.buffer_full:
            self.buffer_full -= 1
            raise BufferError("Local: Queue full")
        self.calls.append((topic, value, key, partition, headers))
        self.queue.append((topic, value, key, on_delivery))

    def poll(self, timeout: float = 0) -> int:
        served, self.queue = self.queue, []
        for n, (topic, value, key, cb) in enumerate(served):
            err = FakeError() if topic in self.fail_topics else None
            cb(err, FakeMessage(topic, 0, n, value, key))
        return len(served)

    def flush(self, timeout: float = 0) -> int:
        self.poll()
        return 0

    def __len__(self) -> int:
        return len(self.queue)


class FakeError:
    def str(self) -> str:
        return "Broker: Unknown topic or partition"


def make_worker(producer: FakeProducer, partitions: int = 2) -> Worker:
    w = Worker(load(None, env={}))
    w.producer = w.services.producer = producer  # type: ignore[assignment]
    for p in range(partitions):
        w.delivery.trackers[("in", p)] = PartitionOffsets("in", p)
    return w


def event_epoch(envelope: bytes) -> float:
    return datetime.fromisoformat(orjson.loads(envelope)["data"][0]["eventTime"]).timestamp()


def test_a_batch_balances_the_metrics_and_produces_keyed_envelopes_positionally() -> None:
    producer = FakeProducer()
    w = make_worker(producer)
    good = sample_events()
    bad = bad_samples()
    values = [*good, *bad, b"not json", None]
    msgs = [FakeMessage("in", i % 2, i // 2, v) for i, v in enumerate(values)]
    w._handle_batch(msgs)
    envelopes = [c for c in producer.calls if c[0].startswith("caliper.")]
    assert len(envelopes) == len(good)
    for topic, value, key, partition, headers in envelopes:
        event = orjson.loads(value)["data"][0]
        assert partition == -1 and headers is None  # the partitioner picks by key; no headers
        assert key == routing_key(event)
        assert topic in {f"caliper.{p}" for p in PROFILES}
    assert w.delivery.in_flight == len(values) - 1  # all but the tombstone wait for their acknowledgement
    before_ack = Counter(c[0] for c in producer.calls)
    producer.poll()
    w.tallies.flush()
    m = w.metrics
    assert w.delivery.in_flight == 0
    assert sample_value(m, "caliper_inputs_consumed_total") == len(values)
    # the balance: consumed = produced + dead letters + unmapped + skipped
    done = (
        sum(s for s in _label_values(m, "caliper_envelopes_produced_total").values())
        + sum(_label_values(m, "caliper_dead_letters_total").values())
        + sum(_label_values(m, "caliper_unmapped_total").values())
        + sum(_label_values(m, "caliper_skipped_total").values())
    )
    assert done == len(values)
    assert sum(_label_values(m, "caliper_envelopes_produced_total").values()) == len(good)
    assert before_ack["canvas.live-events.dlq"] == sum(
        _label_values(m, "caliper_dead_letters_total").values()
    )
    # one mapping duration per input that reached the mapping (not the tombstone)
    assert sample_value(m, "caliper_mapping_duration_seconds_count") >= len(good)
    assert sample_value(m, "caliper_mapping_duration_seconds_sum") > 0
    # one lag per acknowledged envelope, from its own eventTime
    assert sample_value(m, "caliper_end_to_end_lag_seconds_count") == len(good)
    lag_sum = sample_value(m, "caliper_end_to_end_lag_seconds_sum")
    expected = [max(0.0, datetime.now().timestamp() - event_epoch(c[1])) for c in envelopes]
    assert lag_sum == pytest.approx(sum(expected), abs=len(good) * 5.0)
    # every input is done, so each partition can commit past its last offset
    for p in (0, 1):
        last = max(msg.offset() for msg in msgs if msg.partition() == p)
        assert w.delivery.trackers[("in", p)].committable() == last + 1


def _label_values(m: Metrics, name: str) -> dict[tuple, float]:
    out = {}
    for family in m.registry.collect():
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_a_full_producer_queue_is_waited_out_and_the_envelope_sent_once() -> None:
    producer = FakeProducer(buffer_full=3)
    w = make_worker(producer, partitions=1)
    w._handle_batch([FakeMessage("in", 0, 7, sample_events()[0])])
    assert len(producer.calls) == 1
    producer.poll()
    w.tallies.flush()
    assert w.delivery.in_flight == 0 and w.delivery.trackers[("in", 0)].committable() == 8
    assert sample_value(w.metrics, "caliper_end_to_end_lag_seconds_count") == 1


def test_a_failed_delivery_is_fatal_and_nothing_is_committed_past_it() -> None:
    producer = FakeProducer(fail_topics=frozenset(f"caliper.{p}" for p in PROFILES))
    w = make_worker(producer, partitions=1)
    w._handle_batch([FakeMessage("in", 0, off, v) for off, v in enumerate(sample_events()[:3])])
    producer.poll()
    w.tallies.flush()
    assert w.delivery.fatal is not None and "failed for input offset 0" in w.delivery.fatal
    assert sample_value(w.metrics, "caliper_produce_errors_total") >= 1
    assert w.delivery.trackers[("in", 0)].committable() is None
    assert sum(_label_values(w.metrics, "caliper_envelopes_produced_total").values()) == 0
    assert sample_value(w.metrics, "caliper_end_to_end_lag_seconds_count") == 0
