"""Fault test 4: network trouble through a real TCP proxy between the worker and the broker.

First 200 ms of added latency, then a 20 s cut (blackhole: packets dropped, requests time out):
nothing lost, no exit. Then a cut longer than the producer's message.timeout.ms (5 s here):
at-least-once exits 1 without committing past the inputs whose outputs were not delivered, and a
restart completes the job; exactly-once treats the timed-out records as the abortable transaction
error librdkafka reports (aborts, rewinds and goes on), or, when the cut catches it inside
commit_transaction, waits there until the network is back; either way it loses and duplicates
nothing and needs no restart.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import guarantee_params
from tests.faults.harness import (
    Feeder,
    Job,
    Watcher,
    committed,
    count_outputs,
    supported_guarantees,
    tally,
    wait_for,
    wait_until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.faults]
RATE = 300
LATENCY_S, LATENCY_FOR_S = 0.2, 8
CUT_S = 20
MESSAGE_TIMEOUT_MS = 5000
LONG_CUT_S = 15
EXIT_WITHIN_S = 40


@pytest.fixture(scope="module")
def trouble(fault_broker, fault_proxy, tmp_path_factory) -> dict[str, dict]:
    fault_broker.ensure_up()
    fault_proxy.restore()
    fault_proxy.latency(0)
    jobs = {
        g: Job(fault_broker.bootstrap, g, tmp_path_factory.mktemp(f"net-{g}")) for g in supported_guarantees()
    }
    for job in jobs.values():
        job.create_topics()
    via = fault_broker.proxied_bootstrap
    try:
        workers = {g: job.start_worker(name="worker", bootstrap=via) for g, job in jobs.items()}
        for w in workers.values():
            wait_for(lambda w=w: w.ready() or not w.alive(), 90, "the worker ready")
        watchers = {g: Watcher(job) for g, job in jobs.items()}
        feeders = {g: Feeder(job.bootstrap, job.input, RATE).start() for g, job in jobs.items()}
        time.sleep(4)
        fault_proxy.latency(LATENCY_S)
        time.sleep(LATENCY_FOR_S)
        fault_proxy.latency(0)
        time.sleep(2)
        t_cut = time.monotonic()
        fault_proxy.cut("blackhole")
        time.sleep(CUT_S)
        alive_in_cut = {g: w.alive() for g, w in workers.items()}
        fault_proxy.restore()
        t_back = time.monotonic()
        time.sleep(4)
        sent = {g: f.stop() for g, f in feeders.items()}
        for g, w in watchers.items():
            wait_until(lambda g=g, w=w: w.seen_all(sent[g]) or not workers[g].alive(), 150)
        results = {}
        for g, job in jobs.items():
            alive = workers[g].alive()
            rc = workers[g].stop()
            watchers[g].stop()
            results[g] = {
                "alive_throughout": alive and alive_in_cut[g],
                "exit_after_sigterm": rc,
                "log_tail": workers[g].tail(),
                "figures": {
                    "guarantee": g,
                    **tally(sent[g], count_outputs(job)),
                    "latency_ms": int(LATENCY_S * 1000),
                    "cut_s": CUT_S,
                    "first_output_after_cut_s": _r(watchers[g].first_after(t_back)),
                    "all_out_after_cut_s": _r(
                        max(watchers[g].first_seen[i] for i in sent[g]) - t_back
                        if watchers[g].seen_all(sent[g])
                        else None
                    ),
                    "seconds_since_cut": round(time.monotonic() - t_cut, 1),
                },
            }
        return results
    finally:
        fault_proxy.restore()
        fault_proxy.latency(0)
        for job in jobs.values():
            job.kill_workers()
            job.delete_topics()


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


@pytest.mark.parametrize("guarantee", guarantee_params())
def test_latency_and_a_20s_cut_lose_nothing_and_the_worker_stays(trouble, guarantee, record_figures) -> None:
    r = trouble[guarantee]
    fig = r["figures"]
    record_figures(fig)
    assert r["alive_throughout"], r["log_tail"]
    assert r["exit_after_sigterm"] == 0, r["log_tail"]
    assert fig["lost"] == 0, f"{fig['lost']} inputs lost, e.g. {fig['lost_examples']}\n{r['log_tail']}"
    assert fig["unexpected"] == 0
    if guarantee == "exactly-once":
        assert fig["duplicates"] == 0, fig


@pytest.mark.parametrize("guarantee", guarantee_params())
def test_a_cut_longer_than_message_timeout(broker, fault_proxy, guarantee, tmp_path, record_figures) -> None:
    job = Job(broker.bootstrap, guarantee, tmp_path)
    job.create_topics()
    env = {
        "CALIPER_PRODUCER_MESSAGE_TIMEOUT_MS": str(MESSAGE_TIMEOUT_MS),
        "CALIPER_PROCESSOR_SHUTDOWN_TIMEOUT_S": "10",
    }
    try:
        w = job.start_worker(name="worker", bootstrap=broker.proxied_bootstrap, **env)
        wait_for(lambda: w.ready() or not w.alive(), 90, "the worker ready")
        watch = Watcher(job)
        feeder = Feeder(job.bootstrap, job.input, RATE).start()
        time.sleep(3)
        t_cut = time.monotonic()
        fault_proxy.cut("blackhole")
        # at-least-once: the records time out after message.timeout.ms, then the worker stops (its
        # consumer's close waits on the cut network too); the cut lasts until it exited
        exited = wait_until(
            lambda: not w.alive(), LONG_CUT_S if guarantee == "exactly-once" else EXIT_WITHIN_S
        )
        exit_s = time.monotonic() - t_cut if exited else None
        # What the group committed while the outputs were undeliverable (read directly, not via the proxy)
        offsets_at_exit = committed(job.bootstrap, job.group, job.input, job.partitions) if exited else None
        # every input below a committed offset must have come out (the watcher reads directly)
        below = [i for i, (p, o) in dict(feeder.where).items() if offsets_at_exit and o < offsets_at_exit[p]]
        below_out = wait_until(lambda: watch.seen_all(below), 15) if exited else None
        time.sleep(max(0.0, LONG_CUT_S - (time.monotonic() - t_cut)))
        fault_proxy.restore()
        t_back = time.monotonic()
        aborted = None
        rc_first = w.proc.poll()
        if rc_first is not None:  # the restart an orchestrator would do
            w = job.start_worker(name="worker-restarted", bootstrap=broker.proxied_bootstrap, **env)
        time.sleep(3)
        sent = feeder.stop()
        done = wait_until(lambda: watch.seen_all(sent) or not w.alive(), 150)
        if w.alive() and guarantee == "exactly-once":
            aborted = _aborted(w)
        rc_end = w.stop()
        watch.stop()
        counts = tally(sent, count_outputs(job))
        fig = {
            "guarantee": guarantee,
            **counts,
            "message_timeout_ms": MESSAGE_TIMEOUT_MS,
            "cut_s": LONG_CUT_S,
            "first_exit_code": rc_first,
            "exit_after_cut_s": _r(exit_s),
            "transactions_aborted": aborted,
            "inputs_below_committed_at_exit": len(below),
            "all_out_after_restore_s": _r(
                max(watch.first_seen[i] for i in sent) - t_back if watch.seen_all(sent) else None
            ),
        }
        record_figures(fig)
        tail = w.tail()
        assert done, tail
        assert rc_end == 0, tail
        assert counts["lost"] == 0, f"{counts['lost']} lost, e.g. {counts['lost_examples']}\n{tail}"
        if guarantee == "at-least-once":
            assert rc_first == 1, f"the worker did not exit 1 during a {LONG_CUT_S} s cut\n{tail}"
            # nothing committed past an input whose outputs were not delivered: every input below
            # each committed offset came out before the worker exited
            assert below, "nothing was committed before the cut"
            assert below_out, "an input below a committed offset never came out: committed past it"
        else:
            assert counts["duplicates"] == 0, fig
    finally:
        fault_proxy.restore()
        job.kill_workers()
        job.delete_topics()


def _aborted(w) -> float | None:
    import urllib.request

    from tests.worker.conftest import metric_values

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{w.port}/metrics", timeout=2) as r:
            values = metric_values(r.read().decode())
    except OSError:
        return None
    return values.get(("caliper_transactions_total", (("outcome", "aborted"),)))
