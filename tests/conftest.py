"""Shared fixtures: a real Kafka broker for the session, fresh topics per test, ../shared paths."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
KAFKA_SH = REPO / "deploy" / "local-kafka" / "kafka.sh"
SHARED = Path(os.environ.get("CALIPER_SHARED_DIR", REPO.parent / "shared"))


def shared_dir(*parts: str) -> Path:
    """A folder of the reference material beside the repo, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material {path} is absent (it lives in ../shared beside the repo)")
    return path


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a real broker: KAFKA_BOOTSTRAP_SERVERS, else the local one.

    The local broker is started (deploy/local-kafka/kafka.sh up) only when none answers on
    KAFKA_PORT, and then stopped again at the end of the session.
    """
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    port = int(os.environ.get("KAFKA_PORT", "9092"))
    started = False
    if not _port_open(port):
        subprocess.run([str(KAFKA_SH), "up"], check=True)
        started = True
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if started:
            subprocess.run([str(KAFKA_SH), "down"], check=False)


@pytest.fixture
def admin(kafka_bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture
def make_topic(admin) -> Iterator[Callable[..., str]]:
    """Create uniquely named topics (`make_topic("in", partitions=3)`); deleted after the test."""
    from confluent_kafka.admin import NewTopic

    created: list[str] = []

    def create(prefix: str = "t", partitions: int = 1, name: str | None = None) -> str:
        topic = name or f"test-{prefix}-{uuid.uuid4().hex[:10]}"
        for fut in admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=30).values():
            fut.result(30)
        created.append(topic)
        # the create call returns once the controller has the topic; the broker's metadata cache may
        # answer UNKNOWN_TOPIC_OR_PART a moment longer, so wait until every partition is listed
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            meta = admin.list_topics(topic, timeout=10).topics.get(topic)
            if meta is not None and meta.error is None and len(meta.partitions) == partitions:
                break
            time.sleep(0.1)
        return topic

    yield create
    if created:
        for fut in admin.delete_topics(created, operation_timeout=30).values():
            with contextlib.suppress(Exception):  # a test may delete its own topics
                fut.result(30)


def pytest_collection_modifyitems(config, items):
    # Every test under tests/kafka/ or using the broker fixture carries the `kafka` marker,
    # so `-m kafka` / `-m "not kafka"` select or skip them by name.
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)


REGISTRY_SH = REPO / "deploy" / "schema-registry" / "registry.sh"


@pytest.fixture(scope="session")
def schema_registry_url() -> Iterator[str]:
    """API URL of a real Confluent-compatible Schema Registry: SCHEMA_REGISTRY_URL, else a local one.

    The local one (Apicurio Registry, deploy/schema-registry/registry.sh, port SCHEMA_REGISTRY_PORT,
    default 8081) is started once per session and stopped at its end; it keeps schemas in memory,
    so every session starts with an empty registry.
    """
    configured = os.environ.get("SCHEMA_REGISTRY_URL")
    if configured:
        yield configured
        return
    out = subprocess.run([str(REGISTRY_SH), "up"], check=True, stdout=subprocess.PIPE, text=True, timeout=900)
    try:
        yield out.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(REGISTRY_SH), "down"], check=False, timeout=120)
