"""Fault test 5: a rebalance storm. Three workers in one group; every few seconds one of them is
stopped (SIGTERM) and started again, while a large input streams in. Nothing is lost; with
exactly-once nothing comes out twice either (revoked partitions' transactions commit before the
partitions go; each worker has a transactional.id of its own).
"""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import guarantee_params
from tests.faults.harness import Feeder, Job, Watcher, count_outputs, tally, wait_for, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.faults]
RATE = 500
WORKERS = 3
CYCLES = 6
EVERY_S = 4


@pytest.mark.parametrize("guarantee", guarantee_params())
def test_rebalance_storm_loses_nothing(broker, guarantee, tmp_path, record_figures) -> None:
    job = Job(broker.bootstrap, guarantee, tmp_path, partitions=6)
    job.create_topics()

    def start(i: int, n: int):
        return job.start_worker(
            name=f"worker-{i}-{n}", CALIPER_PROCESSOR_TRANSACTIONAL_ID=f"{job.group}-member-{i}"
        )

    try:
        workers = [start(i, 0) for i in range(WORKERS)]
        for w in workers:
            wait_for(lambda w=w: w.ready() or not w.alive(), 90, "a worker ready")
        watch = Watcher(job)
        feeder = Feeder(job.bootstrap, job.input, RATE).start()
        exits: list[int] = []
        for n in range(1, CYCLES + 1):
            time.sleep(EVERY_S)
            i = n % WORKERS
            exits.append(workers[i].stop())
            time.sleep(1)
            workers[i] = start(i, n)
        time.sleep(EVERY_S)
        sent = feeder.stop()
        done = wait_until(lambda: watch.seen_all(sent), 150)
        exits += [w.stop() for w in workers]
        watch.stop()
        counts = tally(sent, count_outputs(job))
        fig = {
            "guarantee": guarantee,
            **counts,
            "workers": WORKERS,
            "restarts": CYCLES,
            "exit_codes": sorted(set(exits)),
        }
        record_figures(fig)
        tails = "\n".join(w.tail(1500) for w in workers)
        assert done, tails
        assert counts["lost"] == 0, f"{counts['lost']} lost, e.g. {counts['lost_examples']}\n{tails}"
        assert counts["unexpected"] == 0
        assert set(exits) == {0}, (exits, tails)
        if guarantee == "exactly-once":
            assert counts["duplicates"] == 0, fig
    finally:
        job.kill_workers()
        job.delete_topics()
