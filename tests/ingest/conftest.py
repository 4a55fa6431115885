"""Fixtures of the receiver's tests: signing keys made here, a real JWKS server, input topics."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest

from tests.ingest.support import JwksServer, SigningKey, make_key


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    """Five generations of Instructure-like keys: retired, previous, current, next, after-next."""
    return {
        name: make_key(f"{name}-{uuid.uuid4().hex[:6]}")
        for name in ("retired", "prev", "cur", "next", "later")
    }


@pytest.fixture(scope="session")
def jwks(signing_keys) -> Iterator[JwksServer]:
    """The JWKS as Canvas publishes it: previous, current and next key."""
    server = JwksServer()
    server.publish(signing_keys["prev"], signing_keys["cur"], signing_keys["next"])
    yield server
    server.close()


@pytest.fixture(scope="module")
def module_topic(kafka_bootstrap: str) -> Iterator[callable]:
    """Create topics that live for one test module (its ingest server outlives a test)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    made: list[str] = []

    def create(prefix: str = "ingest", partitions: int = 3) -> str:
        name = f"test-{prefix}-{uuid.uuid4().hex[:10]}"
        for fut in admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=30).values():
            fut.result(30)
        made.append(name)
        return name

    yield create
    if made:
        for fut in admin.delete_topics(made, operation_timeout=30).values():
            with contextlib.suppress(Exception):
                fut.result(30)
