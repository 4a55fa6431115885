"""`make soak`: a steady stream for SOAK_SECONDS with a worker kill -9 and a broker restart in the middle.

A broker of its own (FAULT_KAFKA_PORT, default KAFKA_PORT + 100, as the fault suite), one worker with
the guarantee SOAK_GUARANTEE (default exactly-once: then duplicates count as failures too), inputs at
SOAK_RATE (default 2,000) per second. At a third of the run the worker is SIGKILLed and started again;
at half of it the broker is SIGKILLed and started again 10 s later. Reported (stdout, and JSON in
SOAK_REPORT, default bench-results/soak.json): lost and duplicate inputs, the restarted worker's RSS
after warm-up and at the end, and the p99 latency (produce to first read_committed read) per minute.
Exit 1 if anything was lost, if exactly-once duplicated anything, or if RSS grew more than 10 %
after warm-up.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.report import percentile
from tests.faults.harness import (
    FaultBroker,
    Feeder,
    Job,
    Watcher,
    count_outputs,
    port_open,
    tally,
    wait_for,
    wait_until,
)

WARMUP_S = 60
RSS_GROWTH_MAX = 0.10


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def say(msg: str) -> None:
    print(f"soak: {msg}", file=sys.stderr, flush=True)


def main() -> int:
    seconds = int(os.environ.get("SOAK_SECONDS", "600"))
    rate = int(os.environ.get("SOAK_RATE", "2000"))
    guarantee = os.environ.get("SOAK_GUARANTEE", "exactly-once")
    report_path = Path(os.environ.get("SOAK_REPORT", "bench-results/soak.json"))
    if seconds < 3 * WARMUP_S:
        say(f"SOAK_SECONDS must be at least {3 * WARMUP_S} (a warm-up before and after the kill)")
        return 2
    base = int(os.environ.get("FAULT_KAFKA_PORT") or int(os.environ.get("KAFKA_PORT", "9092")) + 100)
    if any(port_open(p) for p in range(base, base + 4)):
        say(f"ports {base}-{base + 3} are taken; set FAULT_KAFKA_PORT")
        return 2
    work = Path(tempfile.mkdtemp(prefix="caliper-soak-"))
    broker = FaultBroker(port=base, state=work / "kafka", log=work / "kafka-sh.log")
    say(f"{rate:,} inputs/s for {seconds} s, {guarantee}; broker on {base}, logs in {work}")
    broker.up()
    job = Job(broker.bootstrap, guarantee, work, partitions=6)
    result: dict = {"guarantee": guarantee, "rate": rate, "seconds": seconds}
    try:
        job.create_topics()
        extra = {"CALIPER_CONSUMER_GROUP_INSTANCE_ID": "soak-1"}
        w = job.start_worker(name="worker-1", **extra)
        wait_for(lambda: w.ready() or not w.alive(), 90, "the worker ready")
        watch = Watcher(job)
        clock = time.time() - time.monotonic()  # wall = monotonic + clock
        t0 = time.monotonic()
        feeder = Feeder(job.bootstrap, job.input, rate).start()
        kill_at, broker_at = seconds / 3, seconds / 2

        def until(t: float) -> None:
            time.sleep(max(0.0, t0 + t - time.monotonic()))

        until(WARMUP_S)
        result["rss_mb_first_worker_after_warmup"] = rss_mb(w.proc.pid)
        until(kill_at)
        w.proc.kill()
        w.proc.wait(10)
        say(f"worker killed at {time.monotonic() - t0:.0f} s; restarting")
        w = job.start_worker(name="worker-2", **extra)
        until(broker_at)
        broker.kill()
        say(f"broker killed at {time.monotonic() - t0:.0f} s; back in 10 s")
        time.sleep(10)
        broker.start()
        until(max(broker_at + 15, kill_at + WARMUP_S))
        result["rss_mb_after_warmup"] = warm = rss_mb(w.proc.pid)
        until(seconds)
        result["rss_mb_at_end"] = end = rss_mb(w.proc.pid)
        sent = feeder.stop()
        wait_until(lambda: watch.seen_all(sent) or not w.alive(), 180)
        result["worker_alive_at_end"] = w.alive()
        result["exit_after_sigterm"] = w.stop()
        watch.stop()
        result.update(tally(sent, count_outputs(job)))
        per_minute: dict[int, list[float]] = {}
        for i in sent:
            seen = watch.first_seen.get(i)
            if seen is not None and i in feeder.sent_at:
                minute = int((feeder.sent_at[i] - (t0 + clock)) // 60)
                per_minute.setdefault(minute, []).append((seen + clock - feeder.sent_at[i]) * 1000)
        result["p99_ms_per_minute"] = {m: round(percentile(v, 99), 1) for m, v in sorted(per_minute.items())}
        growth = (end / warm - 1) if warm and end else None
        result["rss_growth_after_warmup"] = None if growth is None else round(growth, 4)
        failures = []
        if result["lost"]:
            failures.append(f"{result['lost']} inputs lost")
        if guarantee == "exactly-once" and result["duplicates"]:
            failures.append(f"{result['duplicates']} duplicates with exactly-once")
        if growth is None or growth > RSS_GROWTH_MAX:
            failures.append(f"RSS grew {growth} after warm-up (limit {RSS_GROWTH_MAX:.0%})")
        result["failures"] = failures
    finally:
        job.kill_workers()
        broker.down()
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    if not result.get("failures"):
        shutil.rmtree(work, ignore_errors=True)
    return 1 if result.get("failures", ["did not finish"]) else 0


if __name__ == "__main__":
    sys.exit(main())
