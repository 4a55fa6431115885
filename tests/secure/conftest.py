"""A secured broker for the session (deploy/secure-kafka/secure-kafka.sh), users, ACLs, worker runs.

The broker has a SASL_SSL listener (SCRAM-SHA-512 and PLAIN) and an SSL listener that requires client
certificates, StandardAuthorizer ACLs and `admin` as the only super user; the script makes a fresh CA,
certificates and passwords on every `up`. Tests create their own topics and SCRAM users as admin and
grant exactly the ACLs they mean to test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "deploy" / "secure-kafka" / "secure-kafka.sh"
PROFILES = (
    "basic",
    "session",
    "reading",
    "assignable",
    "assessment",
    "grading",
    "forum",
    "media",
    "annotation",
    "tooluse",
)


@dataclass
class SecureKafka:
    """The running broker's addresses, CA, users and certificates (from the script's settings file)."""

    settings: dict[str, Any]
    _admin: Any = None

    @property
    def sasl_bootstrap(self) -> str:
        return self.settings["sasl_bootstrap"]

    @property
    def ssl_bootstrap(self) -> str:
        return self.settings["ssl_bootstrap"]

    def scram(self, user: str, password: str) -> dict[str, str]:
        return {
            "bootstrap.servers": self.sasl_bootstrap,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": user,
            "sasl.password": password,
            "ssl.ca.location": self.settings["ca"],
        }

    def plain(self, user: str, password: str) -> dict[str, str]:
        return {**self.scram(user, password), "sasl.mechanism": "PLAIN"}

    def mtls(self, client: str | None = "worker-mtls") -> dict[str, str]:
        conf = {
            "bootstrap.servers": self.ssl_bootstrap,
            "security.protocol": "SSL",
            "ssl.ca.location": self.settings["ca"],
        }
        if client:
            c = self.settings["clients"][client]
            conf.update({"ssl.certificate.location": c["cert"], "ssl.key.location": c["key"]})
        return conf

    def admin_conf(self) -> dict[str, str]:
        return self.scram("admin", self.settings["admin"]["password"])

    def admin(self):
        """One admin client for the session (a dropped client cancels its pending requests)."""
        from confluent_kafka.admin import AdminClient

        if self._admin is None:
            self._admin = AdminClient({**self.admin_conf(), **QUIET})
        return self._admin

    def new_user(self) -> tuple[str, str]:
        """A fresh SCRAM-SHA-512 user with no ACLs (added at run time, no restart)."""
        from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

        user, password = f"u-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096)
        for f in (
            self.admin()
            .alter_user_scram_credentials([UserScramCredentialUpsertion(user, info, password.encode())])
            .values()
        ):
            f.result(15)
        # The credential is usable once the broker replayed it from the metadata log (~0.2 s).
        wait_for(lambda: can_login(self.scram(user, password)), 15, f"SCRAM user {user} to log in")
        return user, password

    def grant(self, principal: str, acls: list[tuple[str, str, str]]) -> None:
        """acls: (resource type "topic"|"group", name, operation "READ"|"WRITE"|...) allowed to principal."""
        from confluent_kafka.admin import (
            AclBinding,
            AclOperation,
            AclPermissionType,
            ResourcePatternType,
            ResourceType,
        )

        bindings = [
            AclBinding(
                ResourceType[rtype.upper()],
                name,
                ResourcePatternType.LITERAL,
                principal,
                "*",
                AclOperation[op.upper()],
                AclPermissionType.ALLOW,
            )
            for rtype, name, op in acls
        ]
        if bindings:
            for f in self.admin().create_acls(bindings).values():
                f.result(15)


class Quiet:
    """A librdkafka `logger` that keeps the test clients' connection noise out of the output."""

    def log(self, *_args: object) -> None:
        pass


QUIET = {"logger": Quiet()}


def can_login(conf: dict[str, str]) -> bool:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    errors: list = []
    admin = AdminClient({**conf, **QUIET, "error_cb": errors.append})
    try:
        admin.list_topics(timeout=3)
    except KafkaException:
        return False
    admin.poll(0)
    return not errors


def wait_for(pred, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = pred()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def secure_kafka() -> Iterator[SecureKafka]:
    """The secured broker, started once per session (and stopped after, when this session started it)."""
    for tool in ("java", "openssl"):
        if shutil.which(tool) is None:
            pytest.skip(f"the secured broker needs {tool} on PATH (.ci/run installs it)")
    env = dict(os.environ)
    started = subprocess.run([str(SCRIPT), "status"], env=env, capture_output=True).returncode != 0
    up = subprocess.run([str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=240)
    assert up.returncode == 0, up.stderr[-3000:]
    settings = json.loads(Path(up.stdout.strip().splitlines()[-1]).read_text())
    cluster = SecureKafka(settings)
    try:
        yield cluster
    finally:
        if started:
            subprocess.run([str(SCRIPT), "down"], env=env, capture_output=True, timeout=60)


@dataclass
class Topics:
    """One test's input, outputs, dead-letter and unmapped topics and its group."""

    uid: str
    input: str
    template: str
    dlq: str
    unmapped: str
    group: str
    logs: list[Path] = field(default_factory=list)

    def output(self, profile: str) -> str:
        return self.template.format(profile=profile)

    def all(self) -> list[str]:
        return [self.input, *(self.output(p) for p in PROFILES), self.dlq, self.unmapped]

    def env(self) -> dict[str, str]:
        return {
            "CALIPER_INPUT_TOPIC": self.input,
            "CALIPER_OUTPUT_TOPIC_TEMPLATE": self.template,
            "CALIPER_DLQ_TOPIC": self.dlq,
            "CALIPER_UNMAPPED_TOPIC": self.unmapped,
            "CALIPER_GROUP_ID": self.group,
        }

    def worker_acls(self) -> list[tuple[str, str, str]]:
        """Everything the worker needs (docs/security.md): Read input and group, Write every output."""
        acls = [("topic", self.input, "READ"), ("group", self.group, "READ")]
        acls += [("topic", t, "WRITE") for t in self.all()[1:]]
        return acls


def make_topics(cluster: SecureKafka, create: bool = True) -> Topics:
    from confluent_kafka.admin import NewTopic

    uid = uuid.uuid4().hex[:8]
    base = f"sec-{uid}"
    t = Topics(uid, f"{base}-in", f"{base}-out-{{profile}}", f"{base}-dlq", f"{base}-unmapped", f"{base}-g")
    if create:
        fs = cluster.admin().create_topics([NewTopic(n, 1, 1) for n in t.all()], operation_timeout=30)
        for f in fs.values():
            f.result(30)
    return t


@dataclass
class Run:
    code: int
    seconds: float
    out: str  # stdout and stderr together, as the process wrote them


def worker_env(kafka: dict[str, str], topics: Topics | None = None, **extra: str) -> dict[str, str]:
    """A clean environment: no CALIPER_* of the caller, the librdkafka settings as CALIPER_KAFKA_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALIPER_", "KAFKA_BOOTSTRAP"))}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka["bootstrap.servers"]
    for key, value in kafka.items():
        if key != "bootstrap.servers":
            env["CALIPER_KAFKA_" + key.upper().replace(".", "_")] = value
    env["CALIPER_METRICS_PORT"] = "0"
    env["CALIPER_PROCESSOR_COMMIT_INTERVAL_S"] = "0.5"
    if topics:
        env.update(topics.env())
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 90) -> Run:
    """`caliper-processor ARGS` to completion; stdout and stderr merged in the order written."""
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "processor", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    return Run(proc.returncode, time.monotonic() - t0, proc.stdout)


def produce(conf: dict[str, str], topic: str, values: list[bytes]) -> None:
    from confluent_kafka import Producer

    p = Producer({**conf, **QUIET, "linger.ms": 10})
    errors: list = []
    for i, v in enumerate(values):
        p.produce(topic, v, f"k{i}".encode(), on_delivery=lambda err, _m: errors.append(err))
    assert p.flush(30) == 0
    assert all(e is None for e in errors), errors


def read_all(conf: dict[str, str], topic: str, timeout: float = 30) -> list:
    """Every record of a one-partition topic up to its current end (as admin)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({**conf, **QUIET, "group.id": f"reader-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=15)
        if high <= low:
            return []
        c.assign([TopicPartition(topic, 0, low)])
        out: list = []
        deadline = time.monotonic() + timeout
        while len(out) < high - low and time.monotonic() < deadline:
            out += [m for m in c.consume(500, 0.5) if m.error() is None]
        assert len(out) == high - low, f"read {len(out)} of {high - low} records of {topic}"
        return out
    finally:
        c.close()


def committed(conf: dict[str, str], group: str, topic: str) -> int:
    """The group's committed offset of partition 0 (negative when none)."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({**conf, **QUIET})
    req = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])
    res = admin.list_consumer_group_offsets([req])[group].result(15)
    return res.topic_partitions[0].offset
