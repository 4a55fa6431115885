"""/healthz and /readyz decisions, and the HTTP server that serves them (no broker)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from processor.health import HealthState, HttpServer


def test_health_fails_on_a_stalled_loop_or_stuck_work_but_not_when_idle() -> None:
    h = HealthState(stall_s=10)
    assert h.healthy()[0]
    h.last_progress -= 60  # idle for a minute, nothing pending, still polling: healthy
    assert h.healthy()[0]
    h.pending = 5  # work pending and no progress for a minute: not healthy
    ok, why = h.healthy()
    assert not ok and "5 inputs pending" in why
    h.pending = 0
    h.last_poll -= 60
    assert not h.healthy()[0]
    h.last_poll = time.monotonic()
    h.failed = "delivery failed"
    assert h.healthy() == (False, "failed: delivery failed")


def test_ready_needs_partitions_and_a_broker() -> None:
    h = HealthState()
    assert h.ready() == (False, "no partitions assigned")
    h.assigned = 3
    assert h.ready() == (False, "broker unreachable")
    h.broker_up = True
    assert h.ready()[0]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_server_serves_metrics_health_and_ready_on_a_free_port() -> None:
    h = HealthState()
    server = HttpServer("127.0.0.1", 0, lambda: b"caliper_inputs_consumed_total 7.0\n", h).start()
    try:
        assert server.port > 0
        assert _get(f"{server.url}/metrics") == (200, "caliper_inputs_consumed_total 7.0\n")
        assert _get(f"{server.url}/healthz")[0] == 200
        assert _get(f"{server.url}/readyz") == (503, "no partitions assigned\n")
        h.assigned, h.broker_up = 1, True
        assert _get(f"{server.url}/readyz")[0] == 200
        assert _get(f"{server.url}/other")[0] == 404
    finally:
        server.stop()
