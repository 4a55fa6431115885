"""End-to-end latency of a running worker under a steady offered load.

Latency of an event = log-append time of its envelope minus log-append time of its input, both
stamped by the broker (the topics use LogAppendTime), matched by the Caliper event id: the id is
derived from the input bytes, so the bench computes it with the project's own Transformer. The
first seconds of load warm the worker up and are left out.

With exactly-once an envelope is appended when it is produced but readable only when its
transaction commits, so the log-append time says too little: a read_committed consumer follows the
outputs during the load and stamps each envelope when it is handed over (`visible_*` figures, the
latency a consumer of the outputs sees; with at-least-once they add only the consumer's fetch wait).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from bench import kafka_io
from bench.generator import EventGenerator
from bench.jobs import JobTopics, free_port, worker_env
from bench.report import histogram, percentile
from bench.templates import Template

WARMUP_S = 3
BUCKET_MS = 1.0


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float) -> str:
    """Poll /readyz until the worker has its partitions; returns how readiness was judged."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return "readyz"
        except OSError:
            pass
        time.sleep(0.2)
    return "timeout"


class VisibleTimes:
    """Follow the output topics with read_committed on a thread: wall-clock ms each envelope arrived."""

    def __init__(self, bootstrap: str, topics: list[str], partitions: int) -> None:
        self.arrived: dict[str, float] = {}
        self._c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-visible-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 5,
            }
        )
        self._c.assign([TopicPartition(t, p, 0) for t in topics for p in range(partitions)])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="visible", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            # poll returns with the first record; consume(n, t) would wait for n records or t
            first = self._c.poll(0.05)
            if first is None:
                continue
            msgs = [first, *self._c.consume(1000, 0)]
            now = time.time() * 1000
            for m in msgs:
                if m.error() is None:
                    try:
                        self.arrived.setdefault(orjson.loads(m.value())["data"][0]["id"], now)
                    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
                        continue
        self._c.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a live process from /proc (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def offer(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]], rate: int) -> float:
    """Produce at a steady `rate` (small bursts every 2 ms); returns the seconds it took."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 1,
            "compression.type": "lz4",
            "acks": "all",
            "enable.idempotence": True,
        }
    )
    started = time.perf_counter()
    sent = 0
    total = len(values)
    while sent < total:
        due = min(total, int((time.perf_counter() - started) * rate) + 1)
        while sent < due:
            key, value = values[sent]
            producer.produce(topic, value, key)
            sent += 1
        producer.poll(0)
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    if producer.flush(60):
        raise RuntimeError("the latency load was not fully acknowledged")
    return elapsed


def measure(
    *,
    bootstrap: str,
    worker_command: tuple[str, ...],
    templates: dict[str, Template],
    seed: int,
    partitions: int,
    rate: int,
    seconds: int,
    prefix: str,
    log_path: Path,
    keep_topics: bool = False,
    extra_env: dict[str, str] | None = None,
) -> dict:
    from mappings.transform import Transformer

    topics = JobTopics(input=f"{prefix}.in", prefix=prefix)
    all_topics = [topics.input, *topics.outputs]
    kafka_io.create_topics(bootstrap, all_topics, partitions)
    warmup = rate * WARMUP_S
    events = [(e.key, e.value) for e in EventGenerator(templates, seed).events(warmup + rate * seconds)]
    port = free_port()
    env = {**worker_env(bootstrap, topics, f"{prefix}.group", port), **(extra_env or {})}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    result: dict = {"offered_per_s": rate, "seconds": seconds, "warmup_s": WARMUP_S, "bucket_ms": BUCKET_MS}
    visible = VisibleTimes(bootstrap, topics.outputs, partitions)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*worker_command, "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            result["ready"] = _wait_ready(port, proc, 60)
            took = offer(bootstrap, topics.input, events, rate)
            result["achieved_per_s"] = round(len(events) / took, 1)
            deadline = time.monotonic() + 60
            while kafka_io.record_count(bootstrap, topics.outputs) < len(events):
                if time.monotonic() > deadline or proc.poll() is not None:
                    break
                time.sleep(0.5)
            cpu = _cpu_seconds(proc.pid)
            if cpu is not None:  # the worker's CPU under steady load, idle polling included
                result["worker_cpu_s_per_1k_events"] = round(cpu / len(events) * 1000, 4)
        finally:
            visible.stop()
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    try:
        transformer = Transformer()
        measured_ids: dict[str, int] = {}
        first_measured = {v for _, v in events[warmup:]}
        for _, value, ts in kafka_io.read_all(bootstrap, [topics.input]):
            if value in first_measured:
                measured_ids[transformer.transform(value).event["id"]] = ts
        latencies: list[float] = []
        seen: list[float] = []
        for event_id, at in visible.arrived.items():
            start = measured_ids.get(event_id)
            if start is not None:
                seen.append(max(0.0, at - start))
        for _, value, ts in kafka_io.read_all(bootstrap, topics.outputs):
            try:
                event_id = orjson.loads(value)["data"][0]["id"]
            except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
                continue  # a dead letter or unmapped record: not an envelope
            start = measured_ids.get(event_id)
            if start is not None:
                latencies.append(float(ts - start))
    finally:
        if not keep_topics:
            kafka_io.delete_topics(bootstrap, all_topics)
    result["events"] = rate * seconds
    result["matched"] = len(latencies)
    if not latencies:
        result["error"] = "no output matched an input (see the worker log)"
        return result
    result.update(
        {
            "p50_ms": percentile(latencies, 50),
            "p90_ms": percentile(latencies, 90),
            "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies),
            "histogram": histogram(latencies, BUCKET_MS),
        }
    )
    if seen:
        result.update(
            {
                "visible_matched": len(seen),
                "visible_p50_ms": round(percentile(seen, 50), 1),
                "visible_p99_ms": round(percentile(seen, 99), 1),
                "visible_max_ms": round(max(seen), 1),
            }
        )
    return result
