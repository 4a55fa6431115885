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


@pytest.mark.skipif(shutil.which("java") is None, reason="the local broker needs Java 17+ (java not on PATH)")
def test_kill_keeps_the_data_and_start_recovers_it(tmp_path):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    port = _free_port_pair()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        extra_port = s.getsockname()[1]
    state = tmp_path / "kafka-state"
    extra = tmp_path / "extra.properties"  # a second listener, as the fault tests give their proxy
    extra.write_text(
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{port + 1},"
        f"SECOND://127.0.0.1:{extra_port}\n"
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},SECOND://127.0.0.1:{extra_port}\n"
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SECOND:PLAINTEXT\n"
    )
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_STATE_DIR": str(state),
        "KAFKA_EXTRA_PROPERTIES": str(extra),
    }
    run = lambda *a: subprocess.run([str(KAFKA_SH), *a], env=env, capture_output=True, text=True, timeout=180)  # noqa: E731
    bootstrap = f"127.0.0.1:{port}"
    try:
        assert run("start").returncode != 0, "start without an earlier up has no data dir to start on"
        first = run("up")
        assert first.returncode == 0, first.stderr
        pid = int((state / "broker.pid").read_text())
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", extra_port)) == 0, "the extra listener is not up"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("kept", 1, 1)])["kept"].result(30)
        p = Producer({"bootstrap.servers": f"127.0.0.1:{extra_port}"})
        for i in range(10):
            p.produce("kept", f"v{i}".encode())
        assert p.flush(30) == 0

        killed = run("kill")
        assert killed.returncode == 0, killed.stderr
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert (state / "data" / "meta.properties").exists(), "kill must keep the data dir"
        assert run("status").returncode != 0

        again = run("start")
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip().splitlines()[-1] == bootstrap
        assert int((state / "broker.pid").read_text()) != pid
        assert "already up" in run("start").stdout

        c = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "kept-reader", "enable.partition.eof": True}
        )
        c.assign([TopicPartition("kept", 0, 0)])
        values = []
        while True:
            m = c.poll(30)
            assert m is not None, "no record and no end of partition after the restart"
            if m.error():
                break
            values.append(m.value())
        c.close()
        assert values == [f"v{i}".encode() for i in range(10)]
    finally:
        down = run("down")
    assert down.returncode == 0, down.stderr
    assert not state.exists()
