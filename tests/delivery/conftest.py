"""The worker tests' helpers (per-test topics and group, worker subprocesses, reads) for these tests too."""

from tests.worker.conftest import stack  # noqa: F401 - a fixture
