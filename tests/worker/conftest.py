"""Helpers for the worker tests against a real broker: per-test topics, a worker subprocess, reads."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "mappings" / "samples" / "canvas_events.jsonl"
BAD_SAMPLES = REPO / "processor" / "demo_samples.jsonl"
PROFILES = (
    "basic",
    "session",
    "reading",
    "assignable",
    "assessment",
    "grading",
    "forum",
    "media",
    "annotation",
    "tooluse",
)
# Caliper 1.1 metric profile of each event type (DESIGN.md), written out here independently.
PROFILE_OF_TYPE = {
    "Event": "basic",
    "SessionEvent": "session",
    "NavigationEvent": "reading",
    "ViewEvent": "reading",
    "AssignableEvent": "assignable",
    "AssessmentEvent": "assessment",
    "AssessmentItemEvent": "assessment",
    "GradeEvent": "grading",
    "MessageEvent": "forum",
    "ThreadEvent": "forum",
    "ForumEvent": "forum",
    "MediaEvent": "media",
    "AnnotationEvent": "annotation",
    "ToolUseEvent": "tooluse",
}


def sample_events() -> list[bytes]:
    """The bundled Canvas samples, one per mapped event name (raw lines)."""
    return [line.strip() for line in SAMPLES.read_bytes().splitlines() if line.strip()]


def bad_samples() -> list[bytes]:
    return [line.strip() for line in BAD_SAMPLES.read_bytes().splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    """One test's topics and group, and the environment that points a worker at them."""

    bootstrap: str
    uid: str
    input: str
    template: str
    dlq: str
    unmapped: str
    group: str
    make_topic: Callable[..., str]
    workers: list[subprocess.Popen] = field(default_factory=list)

    def output(self, profile: str) -> str:
        return self.template.format(profile=profile)

    def create_outputs(self, partitions: int = 2) -> None:
        for p in PROFILES:
            self.make_topic(name=self.output(p), partitions=partitions)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALIPER_")}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            CALIPER_INPUT_TOPIC=self.input,
            CALIPER_OUTPUT_TOPIC_TEMPLATE=self.template,
            CALIPER_DLQ_TOPIC=self.dlq,
            CALIPER_UNMAPPED_TOPIC=self.unmapped,
            CALIPER_GROUP_ID=self.group,
            CALIPER_PROCESSOR_COMMIT_INTERVAL_S="0.5",
            CALIPER_PROCESSOR_STATISTICS_INTERVAL_S="1",
        )
        env.update(extra)
        return env

    def start(self, *args: str, log: Path, **extra: str) -> tuple[subprocess.Popen, int]:
        """A worker subprocess (JSON logs to `log`); returns it and its metrics port."""
        port = free_port()
        env = self.env(CALIPER_METRICS_PORT=str(port), **extra)
        out = open(log, "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "processor", "run", "--log-format", "json", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )
        out.close()
        self.workers.append(proc)
        return proc, port


@pytest.fixture
def stack(kafka_bootstrap: str, make_topic) -> Iterator[Callable[..., Stack]]:
    """`stack(partitions=3, outputs=True)`: fresh input/output/DLQ/unmapped topics and group."""
    made: list[Stack] = []

    def build(partitions: int = 3, outputs: bool = True) -> Stack:
        uid = uuid.uuid4().hex[:10]
        base = f"test-wk-{uid}"
        s = Stack(
            bootstrap=kafka_bootstrap,
            uid=uid,
            input=make_topic(name=f"{base}-in", partitions=partitions),
            template=f"{base}-out-{{profile}}",
            dlq=make_topic(name=f"{base}-dlq", partitions=1),
            unmapped=make_topic(name=f"{base}-unmapped", partitions=1),
            group=f"{base}-group",
            make_topic=make_topic,
        )
        if outputs:
            s.create_outputs()
        made.append(s)
        return s

    yield build
    for s in made:
        for proc in s.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)


def produce(
    bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None, list | None]]
) -> list:
    """Produce (key, value, headers) records; returns their (partition, offset) in order."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True})
    where: list = [None] * len(records)

    def cb(i: int):
        def done(err, msg):
            assert err is None, err
            where[i] = (msg.partition(), msg.offset())

        return done

    for i, (key, value, headers) in enumerate(records):
        while True:
            try:
                p.produce(topic, value, key, headers=headers, on_delivery=cb(i))
                break
            except BufferError:
                p.poll(0.1)
    assert p.flush(30) == 0
    return where


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def read_all(bootstrap: str, topic: str, timeout: float = 30) -> list[Record]:
    """Every record of a topic, from the beginning up to the high watermarks as of now."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        meta = c.list_topics(topic, timeout=10).topics[topic]
        ends = {}
        for p in meta.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        if not ends:
            return []
        c.assign([TopicPartition(topic, p, 0) for p in ends])
        out: list[Record] = []
        deadline = time.monotonic() + timeout
        done: set[int] = set()
        while len(done) < len(ends) and time.monotonic() < deadline:
            for m in c.consume(1000, 0.5):
                if m.error():
                    continue
                out.append(
                    Record(topic, m.partition(), m.offset(), m.key(), m.value(), list(m.headers() or []))
                )
                if m.offset() >= ends[m.partition()] - 1:
                    done.add(m.partition())
        assert len(done) == len(ends), f"could not read {topic} to its end"
        return out
    finally:
        c.close()


def scrape(port: int, path: str = "/metrics") -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric_values(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted label items): value} from Prometheus text."""
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(values: dict, name: str) -> float:
    return sum(v for (n, _), v in values.items() if n == name)


def wait_for(pred: Callable[[], object], timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = pred()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def metrics_or_none(port: int) -> dict | None:
    try:
        return metric_values(scrape(port)[1])
    except OSError:
        return None


def envelope_id(value: bytes) -> str:
    return orjson.loads(value)["data"][0]["id"]
