"""Run one contender as a child process and measure it from outside: wall, CPU and peak RSS.

CPU comes from wait4() on the child itself, peak RSS from the kernel's high-water mark of the
child's own memory (/proc/PID/status VmHWM, polled until it exits), so every contender is charged
the same way whatever it runs internally.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ChildRun:
    returncode: int
    wall_s: float
    cpu_s: float
    maxrss_mb: float
    stdout: str
    log_path: Path
    timed_out: bool = False

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):  # the kernel's own peak of resident memory
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _exec_done(pid: int, last_arg: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().rstrip(b"\0").split(b"\0")[-1] == last_arg.encode()
    except OSError:
        return False


def run_child(
    cmd: list[str], *, env: dict[str, str], log_path: Path, timeout: float, cwd: Path | None = None
) -> ChildRun:
    """Start `cmd`, reap it with wait4 for its rusage; SIGTERM (then SIGKILL) on timeout."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    out_path = log_path.with_suffix(".out")
    with open(log_path, "wb") as err, open(out_path, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=cwd)
        peak = 0.0
        timed_out = False
        killed_at = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if _exec_done(proc.pid, cmd[-1]):  # before exec, /proc shows the forked bench itself
                peak = max(peak, _rss_mb(proc.pid))
            now = time.monotonic()
            if now - started > timeout and not timed_out:
                timed_out, killed_at = True, now
                proc.send_signal(signal.SIGTERM)
            elif killed_at is not None and now - killed_at > 15:
                proc.kill()
                killed_at = float("inf")
            time.sleep(0.05)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        # Not ru_maxrss: Linux carries the parent's high-water mark into a child across fork+exec,
        # so a child would report at least the bench's own size. VmHWM is the child's own peak.
        maxrss_mb=peak or usage.ru_maxrss / 1024,
        stdout=out_path.read_text("utf-8", "replace"),
        log_path=log_path,
        timed_out=timed_out,
    )
