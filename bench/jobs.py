"""Topic layout of one mapping job (the worker's or Quix Streams'), and the worker's environment."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from mappings.registry import PROFILES


@dataclass(frozen=True, slots=True)
class JobTopics:
    """Fresh output topics for one run: one per Caliper profile, plus dead letters and unmapped."""

    input: str
    prefix: str

    @property
    def template(self) -> str:
        return f"{self.prefix}.{{profile}}"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}.dlq"

    @property
    def unmapped(self) -> str:
        return f"{self.prefix}.unmapped"

    @property
    def outputs(self) -> list[str]:
        return [self.template.format(profile=p) for p in PROFILES] + [self.dlq, self.unmapped]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env(bootstrap: str, topics: JobTopics, group: str, metrics_port: int = 0) -> dict[str, str]:
    """The documented environment variables (they win over any config file)."""
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CALIPER_INPUT_TOPIC": topics.input,
            "CALIPER_OUTPUT_TOPIC_TEMPLATE": topics.template,
            "CALIPER_DLQ_TOPIC": topics.dlq,
            "CALIPER_UNMAPPED_TOPIC": topics.unmapped,
            "CALIPER_GROUP_ID": group,
            "CALIPER_METRICS_PORT": str(metrics_port),
        }
    )
    return env
