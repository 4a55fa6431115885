"""Fault test 1: the worker is SIGKILLed three times during one large input and restarted each time.

At-least-once loses nothing; exactly-once loses nothing and no input comes out twice to a
read_committed consumer, and the restarted worker's outputs become visible within seconds of its
restart: it comes back with its predecessor's transactional.id (static membership names both), so
`init_transactions` aborts the transaction left open instead of consumers waiting for
transaction.timeout.ms (60 s). The transaction interval is raised to 1 s so that a transaction is
open, with outputs in it, whenever a kill lands (proved by the aborted records a read_uncommitted
count finds).
"""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import guarantee_params
from tests.faults.harness import (
    Feeder,
    Job,
    Watcher,
    count_outputs,
    supported_guarantees,
    tally,
    wait_for,
    wait_until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.faults]
RATE = 600  # inputs per second per job
KILLS = 3
RUN_S = 5  # seconds of work between a restart and the next kill
VISIBLE_WITHIN_S = 10  # "a few seconds": far under transaction.timeout.ms (60 s)


@pytest.fixture(scope="module")
def kills(fault_broker, fault_proxy, tmp_path_factory) -> dict[str, dict]:
    fault_broker.ensure_up()
    jobs = {
        g: Job(fault_broker.bootstrap, g, tmp_path_factory.mktemp(f"kill-{g}"))
        for g in supported_guarantees()
    }
    extra = {
        # static membership: the restarted worker takes its partitions back at once, and with
        # exactly-once its transactional.id (derived from it) fences its predecessor
        "CALIPER_CONSUMER_GROUP_INSTANCE_ID": "member-1",
        "CALIPER_PROCESSOR_TRANSACTION_INTERVAL_S": "1.0",
    }
    for job in jobs.values():
        job.create_topics()
    try:
        workers = {g: job.start_worker(name="worker-0", **extra) for g, job in jobs.items()}
        for w in workers.values():
            wait_for(lambda w=w: w.ready() or not w.alive(), 90, "the worker ready")
        watchers = {g: Watcher(job) for g, job in jobs.items()}
        feeders = {g: Feeder(job.bootstrap, job.input, RATE).start() for g, job in jobs.items()}
        visible_after: dict[str, list[float | None]] = {g: [] for g in jobs}
        for k in range(1, KILLS + 1):
            time.sleep(RUN_S)
            for w in workers.values():
                w.proc.kill()
                w.proc.wait(10)
            time.sleep(0.5)
            t_restart = time.monotonic()
            workers = {g: job.start_worker(name=f"worker-{k}", **extra) for g, job in jobs.items()}
            for g, watch in watchers.items():
                wait_until(lambda watch=watch, t=t_restart: watch.first_after(t) is not None, 60)
                visible_after[g].append(watch.first_after(t_restart))
        time.sleep(RUN_S)
        sent = {g: f.stop() for g, f in feeders.items()}
        for g, w in watchers.items():
            wait_until(lambda g=g, w=w: w.seen_all(sent[g]) or not workers[g].alive(), 120)
        results = {}
        for g, job in jobs.items():
            alive = workers[g].alive()
            rc = workers[g].stop()
            watchers[g].stop()
            counts = tally(sent[g], count_outputs(job))
            uncommitted = tally(sent[g], count_outputs(job, isolation="read_uncommitted"))
            results[g] = {
                "alive_at_end": alive,
                "exit_after_sigterm": rc,
                "log_tail": workers[g].tail(),
                "figures": {
                    "guarantee": g,
                    "kills": KILLS,
                    **counts,
                    "records_incl_aborted": uncommitted["inputs"] + uncommitted["duplicates"],
                    "visible_after_restart_s": [None if v is None else round(v, 2) for v in visible_after[g]],
                },
            }
        return results
    finally:
        for job in jobs.values():
            job.kill_workers()
            job.delete_topics()


@pytest.mark.parametrize("guarantee", guarantee_params())
def test_worker_killed_three_times_loses_nothing(kills, guarantee, record_figures) -> None:
    r = kills[guarantee]
    fig = r["figures"]
    record_figures(fig)
    assert r["alive_at_end"], r["log_tail"]
    assert r["exit_after_sigterm"] == 0, r["log_tail"]
    assert fig["lost"] == 0, f"{fig['lost']} inputs lost, e.g. {fig['lost_examples']}\n{r['log_tail']}"
    assert fig["unexpected"] == 0
    assert all(v is not None for v in fig["visible_after_restart_s"]), fig
    if guarantee == "exactly-once":
        assert fig["duplicates"] == 0, fig
        # a kill landed in an open transaction: its records are in the log, hidden from read_committed
        assert fig["records_incl_aborted"] > fig["inputs"], fig
        assert max(fig["visible_after_restart_s"]) <= VISIBLE_WITHIN_S, fig
