"""Fault test 3: the worker starts while the broker is down; the broker comes 30 s later.

The worker waits (no exit), says so in a few log lines rather than one per librdkafka retry (about
1,100 lines in 25 s before the repeat filter), and then does the work without loss.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.faults.conftest import guarantee_params
from tests.faults.harness import (
    Job,
    ReadyProbe,
    Watcher,
    count_outputs,
    feed,
    supported_guarantees,
    tally,
    wait_until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.faults]
LATE_S = 30
INPUTS = 3000
MAX_KAFKA_LINES = 8  # lines about the unreachable broker during the whole wait


def _kafka_trouble(rec: dict) -> bool:
    """A log line about the Kafka clients' connection trouble (librdkafka's own, or the error callback)."""
    return (
        rec.get("logger") == "processor.kafka"
        or rec.get("msg") == "kafka client error"
        # exactly-once waits in init_transactions before its consumer subscribes, and says so
        or str(rec.get("msg", "")).startswith("waiting for the broker")
        # the start-up checks (processor.preflight) wait for a broker before the worker starts
        or str(rec.get("msg", "")).startswith("no broker answers yet")
    )


@pytest.fixture(scope="module")
def late(fault_broker, fault_proxy, tmp_path_factory) -> dict[str, dict]:
    fault_broker.ensure_up()
    jobs = {
        g: Job(fault_broker.bootstrap, g, tmp_path_factory.mktemp(f"late-{g}"))
        for g in supported_guarantees()
    }
    numbers = range(INPUTS)
    for job in jobs.values():
        job.create_topics()
        feed(job.bootstrap, job.input, numbers)
    watchers = {g: Watcher(job) for g, job in jobs.items()}
    fault_broker.kill()
    try:
        t_started, t_started_mono = time.time(), time.monotonic()
        workers = {g: job.start_worker(name="worker") for g, job in jobs.items()}
        probes = {g: ReadyProbe(w) for g, w in workers.items()}
        time.sleep(LATE_S)
        t_start, t_start_mono = time.time(), time.monotonic()
        start_s = fault_broker.start()
        t_back = time.monotonic()
        for g, w in watchers.items():
            wait_until(lambda g=g, w=w: w.seen_all(numbers) or not workers[g].alive(), 120)
        results = {}
        for g, job in jobs.items():
            w, probe, watch = workers[g], probes[g], watchers[g]
            alive = w.alive()
            rc = w.stop()
            probe.stop()
            watch.stop()
            lines = w.lines()
            waiting = [r for r in lines if t_started <= _ts(r) < t_start]
            trouble = [r for r in waiting if _kafka_trouble(r)]
            results[g] = {
                "alive_throughout": alive,
                "exit_after_sigterm": rc,
                "ready_codes_while_waiting": sorted(
                    set(probe.between(t_started_mono + 5, t_start_mono)), key=str
                ),
                "log_tail": w.tail(),
                "trouble": trouble,
                "figures": {
                    "guarantee": g,
                    **tally(numbers, count_outputs(job)),
                    "broker_down_after_worker_start_s": round(t_start - t_started, 1),
                    "broker_start_s": round(start_s, 1),
                    "log_lines_while_waiting": len(waiting),
                    "kafka_trouble_lines_while_waiting": len(trouble),
                    "first_output_after_broker_back_s": _r(watch.first_after(t_back)),
                    "ready_after_broker_back_s": _r(probe.first_ready_after(t_back)),
                    "all_out_after_broker_back_s": _r(
                        max(watch.first_seen[i] for i in numbers) - t_back
                        if watch.seen_all(numbers)
                        else None
                    ),
                },
            }
        return results
    finally:
        for job in jobs.values():
            job.kill_workers()
        fault_broker.ensure_up()
        for job in jobs.values():
            job.delete_topics()


def _ts(rec: dict) -> float:
    ts = rec.get("ts")
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() if ts else 0.0


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


@pytest.mark.parametrize("guarantee", guarantee_params())
def test_worker_waits_for_a_late_broker_quietly_then_works(late, guarantee, record_figures) -> None:
    r = late[guarantee]
    fig = r["figures"]
    record_figures(fig)
    assert r["alive_throughout"], f"the worker gave up waiting for the broker:\n{r['log_tail']}"
    assert r["exit_after_sigterm"] == 0, r["log_tail"]
    assert fig["lost"] == 0, f"{fig['lost']} inputs lost, e.g. {fig['lost_examples']}\n{r['log_tail']}"
    if guarantee == "exactly-once":
        assert fig["duplicates"] == 0
    assert r["ready_codes_while_waiting"] == [503], r["ready_codes_while_waiting"]
    assert 1 <= fig["kafka_trouble_lines_while_waiting"] <= MAX_KAFKA_LINES, [t["msg"] for t in r["trouble"]]
    assert fig["log_lines_while_waiting"] <= MAX_KAFKA_LINES + 6
