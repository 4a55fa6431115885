"""What the fault tests and `make soak` share: a broker they may crash, numbered inputs fed at a steady
rate, workers as subprocesses, and the bookkeeping that proves nothing was lost or duplicated.

Every input carries its number in `metadata.request_id` (`rq-0000042-end`), which the envelope, the
dead letter (the original bytes) and the unmapped copy (likewise) all keep; counting numbers over the
output, dead-letter and unmapped topics gives, per input, how many times it came out. Outputs are
read with isolation.level=read_committed, which for at-least-once (no transactions) reads the same as
read_uncommitted and for exactly-once hides aborted and open transactions, as a consumer would.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

REPO = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO / "deploy" / "local-kafka" / "kafka.sh"
SAMPLES = REPO / "mappings" / "samples" / "canvas_events.jsonl"
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
GUARANTEES = ("at-least-once", "exactly-once")
MARK = re.compile(rb"rq-(\d{7})-end")
DEAD_EVERY, UNMAPPED_EVERY = 97, 89  # one input in 97 is undecodable, one in 89 has no mapping


@functools.cache
def supported_guarantees() -> tuple[str, ...]:
    """The guarantees `run` offers: exactly-once only once `run --help` lists `--guarantee`."""
    out = subprocess.run(
        [sys.executable, "-m", "processor", "run", "--help"], capture_output=True, text=True, cwd=REPO
    )
    return GUARANTEES if "--guarantee" in out.stdout else GUARANTEES[:1]


def guarantee_args(guarantee: str) -> list[str]:
    """`--guarantee G`, or nothing while `run` has no such option (at-least-once is all it does)."""
    if "exactly-once" not in supported_guarantees():
        assert guarantee == "at-least-once", guarantee
        return []
    return ["--guarantee", guarantee]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- inputs ----------------------------------------------------------------------------------


@functools.cache
def _samples() -> list[dict]:
    return [orjson.loads(line) for line in SAMPLES.read_bytes().splitlines() if line.strip()]


def make_input(i: int) -> tuple[bytes, bytes]:
    """(key, value) of input number i: a mapped sample, or now and then a dead letter or unmapped."""
    mark = f"rq-{i:07d}-end"
    if i % DEAD_EVERY == DEAD_EVERY - 1:
        return f"k{i % 101}".encode(), f'{{"metadata": {{"request_id": "{mark}"}}, "body": '.encode()
    obj = _samples()[i % len(_samples())]
    obj = {**obj, "metadata": {**obj["metadata"], "request_id": mark}}
    if i % UNMAPPED_EVERY == UNMAPPED_EVERY - 1:
        obj["metadata"]["event_name"] = "fault_test_event_without_mapping"
    return f"k{i % 101}".encode(), orjson.dumps(obj)


# ---- a broker the tests may crash --------------------------------------------------------------


@dataclass
class FaultBroker:
    """A broker of its own (kafka.sh with its own port and state dir), with a second listener for a proxy.

    Direct clients use `bootstrap` (port). The PROXIED listener (proxied_port) advertises the proxy's
    port (proxy_port), so clients bootstrapped through the proxy keep talking through it.
    """

    port: int
    state: Path
    log: Path

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def proxied_port(self) -> int:
        return self.port + 2

    @property
    def proxy_port(self) -> int:
        return self.port + 3

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def proxied_bootstrap(self) -> str:
        return f"127.0.0.1:{self.proxy_port}"

    def _env(self) -> dict[str, str]:
        extra = self.state.parent / f"fault-broker-{self.port}.properties"
        extra.write_text(
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port},"
            f"PROXIED://127.0.0.1:{self.proxied_port}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port},PROXIED://127.0.0.1:{self.proxy_port}\n"
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PROXIED:PLAINTEXT\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "CALIPER_"))}
        env.update(
            KAFKA_PORT=str(self.port),
            KAFKA_STATE_DIR=str(self.state),
            KAFKA_EXTRA_PROPERTIES=str(extra),
            KAFKA_STOP_TIMEOUT="10",
        )
        for k in ("KAFKA_JAR_CACHE", "KAFKA_HEAP_OPTS"):
            if k in os.environ:
                env[k] = os.environ[k]
        return env

    def _sh(self, verb: str, timeout: float = 180) -> float:
        t0 = time.monotonic()
        with open(self.log, "a") as out:
            out.write(f"--- kafka.sh {verb} at {time.strftime('%H:%M:%S')}\n")
            out.flush()
            rc = subprocess.run(
                [str(KAFKA_SH), verb], env=self._env(), stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            ).returncode
        if rc != 0:
            raise RuntimeError(f"kafka.sh {verb} failed ({rc}); see {self.log}")
        return time.monotonic() - t0

    def up(self) -> float:
        return self._sh("up")

    def kill(self) -> float:
        """SIGKILL, data kept."""
        return self._sh("kill")

    def start(self) -> float:
        """Start on the data dir the kill left; returns the seconds until it served clients."""
        return self._sh("start")

    def ensure_up(self) -> None:
        if not port_open(self.port):
            self.start()

    def down(self) -> None:
        self._sh("down")

    def is_up(self) -> bool:
        return port_open(self.port)


# ---- topics of one job ---------------------------------------------------------------------------


@dataclass
class Job:
    """One run's topics and group on a broker, and the workers started for it."""

    bootstrap: str  # direct, for the test's own producer and readers
    guarantee: str
    workdir: Path
    partitions: int = 3
    out_partitions: int = 1
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    workers: list[WorkerProc] = field(default_factory=list)

    @property
    def input(self) -> str:
        return f"fault-{self.uid}-in"

    @property
    def group(self) -> str:
        return f"fault-{self.uid}-group"

    @property
    def template(self) -> str:
        return f"fault-{self.uid}-out-{{profile}}"

    @property
    def dlq(self) -> str:
        return f"fault-{self.uid}-dlq"

    @property
    def unmapped(self) -> str:
        return f"fault-{self.uid}-unmapped"

    def outputs(self) -> dict[str, int]:
        """Every topic an input can end in, with its partition count."""
        out = {self.template.format(profile=p): self.out_partitions for p in PROFILES}
        out[self.dlq] = 1
        out[self.unmapped] = 1
        return out

    def create_topics(self) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        topics = {self.input: self.partitions, **self.outputs()}
        futures = admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()], operation_timeout=30)
        for fut in futures.values():
            fut.result(60)

    def delete_topics(self) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for fut in admin.delete_topics([self.input, *self.outputs()], operation_timeout=30).values():
            with contextlib.suppress(Exception):
                fut.result(30)

    def env(self, bootstrap: str | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CALIPER_", "KAFKA_BOOTSTRAP"))}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=bootstrap or self.bootstrap,
            CALIPER_INPUT_TOPIC=self.input,
            CALIPER_OUTPUT_TOPIC_TEMPLATE=self.template,
            CALIPER_DLQ_TOPIC=self.dlq,
            CALIPER_UNMAPPED_TOPIC=self.unmapped,
            CALIPER_GROUP_ID=self.group,
            CALIPER_PROCESSOR_COMMIT_INTERVAL_S="0.5",
            CALIPER_PROCESSOR_STATISTICS_INTERVAL_S="1",
            CALIPER_PROCESSOR_SHUTDOWN_TIMEOUT_S="20",
            # a member that died or left is replaced after 6 s instead of 45 s
            CALIPER_CONSUMER_SESSION_TIMEOUT_MS="6000",
        )
        env.update(extra)
        return env

    def start_worker(
        self, *args: str, name: str = "worker", bootstrap: str | None = None, **extra: str
    ) -> WorkerProc:
        port = free_port()
        log = self.workdir / f"{name}.log"
        env = self.env(bootstrap, CALIPER_METRICS_PORT=str(port), **extra)
        with open(log, "ab") as out:
            out.write(f'{{"harness": "start {name}", "at": "{time.strftime("%H:%M:%S")}"}}\n'.encode())
            out.flush()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "processor",
                    "run",
                    "--log-format",
                    "json",
                    *guarantee_args(self.guarantee),
                    *args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
        w = WorkerProc(proc, port, log, name)
        self.workers.append(w)
        return w

    def kill_workers(self) -> None:
        for w in self.workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGKILL)
                w.proc.wait(10)


@dataclass
class WorkerProc:
    proc: subprocess.Popen
    port: int
    log: Path
    name: str

    def http(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def ready(self) -> bool:
        return self.http("/readyz") == 200

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 40) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(orjson.JSONDecodeError):
                    out.append(orjson.loads(line))
        return out


def wait_until(pred, timeout: float, interval: float = 0.2) -> bool:
    """Whether `pred` came true within `timeout` (the caller reports what it means if not)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return False


def wait_for(pred, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = pred()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# ---- feeding, watching, counting -----------------------------------------------------------------


class Feeder:
    """Produce numbered inputs at a steady rate on a thread, from `start` on, until `stop()`.

    The producer is idempotent with the default 300 s message timeout, so a broker that goes away and
    comes back within that loses nothing on this side: every input counted in `sent` was acknowledged.
    """

    def __init__(self, bootstrap: str, topic: str, rate: float, start: int = 0, limit: int | None = None):
        self.topic, self.rate, self.next, self.limit = topic, rate, start, limit
        self.first = start
        self.sent_at: dict[int, float] = {}  # input number -> wall time of produce()
        self.where: dict[int, tuple[int, int]] = {}  # input number -> (partition, offset)
        self.errors: list[str] = []
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "linger.ms": 5,
                "reconnect.backoff.max.ms": 500,
                "log_level": 2,  # the broker is meant to go away: no connection-refused lines
            }
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def start(self) -> Feeder:
        self._thread.start()
        return self

    def _cb(self, i: int):
        def done(err, msg):
            if err is not None:
                self.errors.append(f"input {i}: {err}")
            else:
                self.where[i] = (msg.partition(), msg.offset())

        return done

    def _run(self) -> None:
        t0 = time.monotonic()
        produced = 0
        while not self._stop.is_set() and (self.limit is None or self.next < self.first + self.limit):
            due = int((time.monotonic() - t0) * self.rate) + 1
            while produced < due and (self.limit is None or self.next < self.first + self.limit):
                key, value = make_input(self.next)
                try:
                    self._producer.produce(self.topic, value, key, on_delivery=self._cb(self.next))
                except BufferError:
                    self._producer.poll(0.05)
                    continue
                self.sent_at[self.next] = time.time()
                self.next += 1
                produced += 1
            self._producer.poll(0.005)

    def stop(self, timeout: float = 120) -> list[int]:
        """Stop producing, wait for every acknowledgement; returns the input numbers sent."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)
        left = self._producer.flush(timeout)
        assert left == 0, f"{left} inputs not acknowledged by the broker"
        assert not self.errors, self.errors[:5]
        return list(range(self.first, self.next))

    @property
    def count(self) -> int:
        return self.next - self.first


def feed(bootstrap: str, topic: str, numbers: range) -> dict[int, tuple[int, int]]:
    """Produce the inputs numbered `numbers` at once; returns where each landed."""
    f = Feeder(bootstrap, topic, rate=1e9, start=numbers.start, limit=len(numbers))
    f._run()
    f.stop()
    return f.where


class Watcher:
    """Follow every output topic of a job from the beginning (read_committed), on a thread.

    It records when each input number first came out, so recovery times are measured from the
    outside, as a consumer of the outputs sees them (with exactly-once: when a transaction commits).
    """

    def __init__(self, job: Job) -> None:
        self.counts: Counter[int] = Counter()
        self.first_seen: dict[int, float] = {}  # input number -> monotonic time
        self.arrivals: list[float] = []  # monotonic time of every record read
        self._c = _reader(job.bootstrap, eof=False)
        self._c.assign([TopicPartition(t, p, 0) for t, n in job.outputs().items() for p in range(n)])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            # poll hands over the first record at once; consume(n, t) would wait for n or t
            first = self._c.poll(0.2)
            if first is None:
                continue
            now = time.monotonic()
            for m in [first, *self._c.consume(1000, 0)]:
                if m.error():
                    continue
                self.arrivals.append(now)
                hit = MARK.search(m.value() or b"")
                if hit:
                    i = int(hit.group(1))
                    self.counts[i] += 1
                    self.first_seen.setdefault(i, now)
        self._c.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def seen_all(self, numbers) -> bool:
        return all(i in self.first_seen for i in numbers)

    def first_after(self, t: float) -> float | None:
        """Seconds from t to the first output read after it (None if none came)."""
        later = [a for a in self.arrivals if a > t]
        return min(later) - t if later else None


def _reader(bootstrap: str, *, eof: bool, isolation: str = "read_committed") -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"fault-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "enable.partition.eof": eof,
            "reconnect.backoff.max.ms": 500,
            "fetch.wait.max.ms": 100,
            "log_level": 2,
        }
    )


def count_outputs(job: Job, timeout: float = 90, isolation: str = "read_committed") -> Counter[int]:
    """How many times each input number came out, over every output topic, read to the end
    (read_uncommitted also counts the records of aborted transactions)."""
    c = _reader(job.bootstrap, eof=True, isolation=isolation)
    parts = [TopicPartition(t, p, 0) for t, n in job.outputs().items() for p in range(n)]
    c.assign(parts)
    seen: Counter[int] = Counter()
    ended: set[tuple[str, int]] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(ended) < len(parts):
            assert time.monotonic() < deadline, f"outputs not read to their end within {timeout}s"
            for m in c.consume(1000, 0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        ended.add((m.topic(), m.partition()))
                    continue
                ended.discard((m.topic(), m.partition()))  # more came after an end
                hit = MARK.search(m.value() or b"")
                assert hit, f"an output without an input number: {m.value()[:200]!r}"
                seen[int(hit.group(1))] += 1
    finally:
        c.close()
    return seen


def tally(numbers, seen: Counter[int]) -> dict[str, object]:
    """Lost and duplicate counts of the inputs `numbers` against what came out."""
    numbers = list(numbers)
    lost = [i for i in numbers if seen.get(i, 0) == 0]
    duplicates = sum(max(0, seen.get(i, 0) - 1) for i in numbers)
    strangers = sorted(set(seen) - set(numbers))
    return {
        "inputs": len(numbers),
        "lost": len(lost),
        "lost_examples": lost[:5],
        "duplicates": duplicates,
        "unexpected": len(strangers),
    }


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


class ReadyProbe:
    """Sample a worker's /readyz every 0.25 s on a thread: [(monotonic time, status or None)]."""

    def __init__(self, worker: WorkerProc) -> None:
        self.samples: list[tuple[float, int | None]] = []
        self._w = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readyz", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self._w.http("/readyz")))
            self._stop.wait(0.25)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def between(self, t0: float, t1: float) -> list[int | None]:
        return [code for t, code in self.samples if t0 <= t <= t1]

    def first_ready_after(self, t: float) -> float | None:
        for at, code in self.samples:
            if at > t and code == 200:
                return at - t
        return None
