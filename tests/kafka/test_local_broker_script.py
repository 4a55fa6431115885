"""deploy/local-kafka/kafka.sh: up is idempotent, down leaves no process and no data behind."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest

from tests.conftest import KAFKA_SH

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s2:
            if s2.connect_ex(("127.0.0.1", port + 1)) != 0 and port < 65000:
                return port
    raise RuntimeError("no free port pair")


@pytest.mark.skipif(shutil.which("java") is None, reason="the local broker needs Java 17+ (java not on PATH)")
def test_up_twice_then_down_leaves_nothing(tmp_path):
    port = _free_port_pair()
    state = tmp_path / "kafka-state"
    env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_STATE_DIR": str(state)}
    run = lambda *a: subprocess.run([str(KAFKA_SH), *a], env=env, capture_output=True, text=True, timeout=180)  # noqa: E731
    try:
        first = run("up")
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip().splitlines()[-1] == f"127.0.0.1:{port}"
        pid = int((state / "broker.pid").read_text())
        os.kill(pid, 0)  # alive

        second = run("up")
        assert second.returncode == 0, second.stderr
        assert "already up" in second.stdout
        assert int((state / "broker.pid").read_text()) == pid, "a second up must not start another broker"

        assert run("status").returncode == 0
    finally:
        down = run("down")
    assert down.returncode == 0, down.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not state.exists(), "kafka-down must delete the data dir"
    assert run("status").returncode != 0
