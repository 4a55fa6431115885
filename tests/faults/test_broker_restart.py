"""Fault test 2: the broker is SIGKILLed mid-stream and started again on its data dir 10 s later.

The worker must not exit, must recover by itself and lose nothing (exactly-once: no duplicates), and
/readyz must say not ready while the broker is away and ready after. One outage serves every
guarantee: a job (topics, group, worker) per guarantee runs through it side by side.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import guarantee_params
from tests.faults.harness import (
    Feeder,
    Job,
    ReadyProbe,
    Watcher,
    count_outputs,
    supported_guarantees,
    tally,
    wait_for,
    wait_until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.faults]
RATE = 400  # inputs per second per job: the stream is live when the broker dies
OUTAGE_S = 10


@pytest.fixture(scope="module")
def restart(fault_broker, fault_proxy, tmp_path_factory) -> dict[str, dict]:
    fault_broker.ensure_up()
    jobs = {
        g: Job(fault_broker.bootstrap, g, tmp_path_factory.mktemp(f"restart-{g}"))
        for g in supported_guarantees()
    }
    for job in jobs.values():
        job.create_topics()
    workers = {g: job.start_worker(name="worker") for g, job in jobs.items()}
    try:
        for w in workers.values():
            wait_for(lambda w=w: w.ready() or not w.alive(), 90, "the worker ready")
        probes = {g: ReadyProbe(w) for g, w in workers.items()}
        watchers = {g: Watcher(job) for g, job in jobs.items()}
        feeders = {g: Feeder(job.bootstrap, job.input, RATE).start() for g, job in jobs.items()}
        time.sleep(8)
        before = {g: len(w.first_seen) for g, w in watchers.items()}
        t_kill = time.monotonic()
        fault_broker.kill()
        time.sleep(OUTAGE_S)
        t_start = time.monotonic()
        start_s = fault_broker.start()
        t_back = time.monotonic()
        time.sleep(6)
        sent = {g: f.stop() for g, f in feeders.items()}
        for g, w in watchers.items():  # what did not come out is reported by the test of its guarantee
            wait_until(lambda g=g, w=w: w.seen_all(sent[g]) or not workers[g].alive(), 120)
        results = {}
        for g, job in jobs.items():
            w, probe, watch = workers[g], probes[g], watchers[g]
            alive = w.alive()
            rc = w.stop()
            probe.stop()
            watch.stop()
            counts = tally(sent[g], count_outputs(job))
            outage = probe.between(t_kill + 3, t_start)
            results[g] = {
                "alive_throughout": alive,
                "exit_after_sigterm": rc,
                "outputs_before_kill": before[g],
                "ready_codes_during_outage": sorted(set(outage), key=str),
                "outage_samples": len(outage),
                "log_tail": w.tail(),
                "figures": {
                    "guarantee": g,
                    **counts,
                    "outage_s": round(t_start - t_kill, 1),
                    "broker_start_s": round(start_s, 1),
                    "first_output_after_broker_back_s": _r(watch.first_after(t_back)),
                    "ready_after_broker_back_s": _r(probe.first_ready_after(t_back)),
                    "all_out_after_broker_back_s": _r(
                        max(watch.first_seen.get(i, float("nan")) for i in sent[g]) - t_back
                        if watch.seen_all(sent[g])
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


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


@pytest.mark.parametrize("guarantee", guarantee_params())
def test_broker_restart_mid_stream_recovers_without_loss(restart, guarantee, record_figures) -> None:
    r = restart[guarantee]
    fig = r["figures"]
    record_figures(fig)
    assert r["outputs_before_kill"] > 0, "nothing came out before the broker was killed"
    assert r["alive_throughout"], f"the worker exited during the outage:\n{r['log_tail']}"
    assert r["exit_after_sigterm"] == 0, r["log_tail"]
    assert fig["lost"] == 0, f"{fig['lost']} inputs lost, e.g. {fig['lost_examples']}\n{r['log_tail']}"
    assert fig["unexpected"] == 0
    if guarantee == "exactly-once":
        assert fig["duplicates"] == 0
    assert r["outage_samples"] > 0 and r["ready_codes_during_outage"] == [503], r["ready_codes_during_outage"]
    assert fig["ready_after_broker_back_s"] is not None, "/readyz never said ready after the broker came back"
    assert fig["first_output_after_broker_back_s"] is not None
