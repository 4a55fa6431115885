"""Fixtures of the fault suite: a broker of its own that the tests crash, a TCP proxy in front of it,
and the figures each test measured (lost, duplicates, recovery times), printed at the end.

The fault broker runs on FAULT_KAFKA_PORT (default KAFKA_PORT + 100) and the three ports after it
(controller, proxied listener, proxy), never on the shared test broker's port: other tests keep
their broker while these kill theirs.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import GUARANTEES, FaultBroker, port_open, supported_guarantees
from tests.faults.proxy import Proxy

FIGURES: list[dict] = []


def guarantee_params() -> list:
    """Both guarantees; exactly-once skipped (with the reason) while `run` does not offer it."""
    have = supported_guarantees()
    return [
        pytest.param(
            g,
            id=g,
            marks=[]
            if g in have
            else pytest.mark.skip(reason="`caliper-processor run --help` has no --guarantee option yet"),
        )
        for g in GUARANTEES
    ]


@pytest.fixture(scope="session")
def fault_broker(tmp_path_factory) -> Iterator[FaultBroker]:
    if shutil.which("java") is None:
        pytest.skip("the fault broker needs Java 17+ (java not on PATH)")
    base = int(os.environ.get("FAULT_KAFKA_PORT") or int(os.environ.get("KAFKA_PORT", "9092")) + 100)
    taken = [p for p in range(base, base + 4) if port_open(p)]
    if taken:
        pytest.fail(f"ports {taken} are taken; set FAULT_KAFKA_PORT to the first of four free ports")
    state = tmp_path_factory.mktemp("fault-broker")
    broker = FaultBroker(port=base, state=state / "kafka", log=state / "kafka-sh.log")
    broker.up()
    try:
        yield broker
    finally:
        broker.down()


@pytest.fixture(scope="session")
def fault_proxy(fault_broker: FaultBroker) -> Iterator[Proxy]:
    """The proxy in front of the fault broker's PROXIED listener (which advertises the proxy)."""
    proxy = Proxy(fault_broker.proxy_port, fault_broker.proxied_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def broker(fault_broker: FaultBroker, fault_proxy: Proxy) -> FaultBroker:
    """The fault broker, up (an earlier failed test may have left it down), with the proxy open."""
    fault_broker.ensure_up()
    fault_proxy.restore()
    fault_proxy.latency(0)
    return fault_broker


@pytest.fixture
def record_figures(request, tmp_path: Path):
    """`record_figures(dict)`: kept in fault-figures.json of the test's tmp dir and printed at the end."""

    def record(figures: dict) -> None:
        entry = {"test": request.node.name, **figures}
        FIGURES.append(entry)
        (tmp_path / "fault-figures.json").write_text(json.dumps(entry, indent=2))
        print("FAULT-FIGURES " + json.dumps(entry))

    return record


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault suite figures")
    for entry in FIGURES:
        terminalreporter.write_line(json.dumps(entry))
    out = Path(terminalreporter.config.rootpath) / ".pytest_cache" / "fault-figures.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(FIGURES, indent=2))
    terminalreporter.write_line(f"(also in {out})")
