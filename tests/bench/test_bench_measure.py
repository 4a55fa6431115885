"""Measuring a child from outside: its own CPU and its own peak RSS, not the bench's."""

from __future__ import annotations

import os
import sys

from bench.measure import run_child


def test_child_peak_rss_is_its_own_not_the_parents(tmp_path):
    ballast = bytearray(250 * 1024 * 1024)  # the bench process is big ...
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    code = "import time; x = bytearray(40 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096]); time.sleep(0.4)"
    run = run_child(
        [sys.executable, "-c", code], env=dict(os.environ), log_path=tmp_path / "c.log", timeout=30
    )
    assert run.returncode == 0
    assert 40 <= run.maxrss_mb < 150  # ... the child holds about 40 MB plus the interpreter
    del ballast


def test_child_cpu_and_exit_status(tmp_path):
    code = "import sys, time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\nsys.exit(3)"
    run = run_child(
        [sys.executable, "-c", code], env=dict(os.environ), log_path=tmp_path / "c.log", timeout=30
    )
    assert run.returncode == 3
    assert run.cpu_s >= 0.3
    assert run.wall_s >= 0.3


def test_child_that_hangs_is_stopped(tmp_path):
    code = "import time; time.sleep(60)"
    run = run_child(
        [sys.executable, "-c", code], env=dict(os.environ), log_path=tmp_path / "c.log", timeout=0.5
    )
    assert run.timed_out
    assert run.wall_s < 20
