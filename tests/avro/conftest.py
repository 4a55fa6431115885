"""Fixtures of the worker tests (per-test topics and group) for the Avro tests too."""

from tests.worker.conftest import stack  # noqa: F401 - a fixture
