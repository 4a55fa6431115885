"""The Schema Registry of the `processor_avro` contender: the one named in BENCH_SCHEMA_REGISTRY_URL,
else the local one (deploy/schema-registry/registry.sh on SCHEMA_REGISTRY_PORT), started for the run
and stopped after it only when this run started it (a registry already up is someone else's)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator

from bench.settings import REPO

REGISTRY_SH = REPO / "deploy" / "schema-registry" / "registry.sh"


@contextlib.contextmanager
def registry(env: dict[str, str] | None = None) -> Iterator[str]:
    """Yield the registry's API URL for the duration of the bench."""
    env = dict(os.environ if env is None else env)
    configured = env.get("BENCH_SCHEMA_REGISTRY_URL", "").strip()
    if configured:
        yield configured
        return
    already = subprocess.run([str(REGISTRY_SH), "status"], env=env, capture_output=True).returncode == 0
    out = subprocess.run(
        [str(REGISTRY_SH), "up"], env=env, check=True, stdout=subprocess.PIPE, text=True, timeout=900
    )
    try:
        yield out.stdout.strip().splitlines()[-1]
    finally:
        if not already:
            subprocess.run([str(REGISTRY_SH), "down"], env=env, check=False, timeout=120)
