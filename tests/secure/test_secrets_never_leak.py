"""Known secrets go in (environment, `_FILE`, config file); none comes out anywhere the worker writes.

Searched: stdout and stderr at DEBUG (with librdkafka's own debug contexts on), `--print-config`,
/metrics, and the dead-letter records. Every secret setting the config knows (DEFAULTS) is fed in too,
so the privacy key, Schema Registry and ingest credentials are covered as soon as those keys exist.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from processor.config import DEFAULTS
from processor.secrets import MASK, is_secret
from tests.conftest import REPO

from .conftest import PROFILES, SecureKafka, make_topics, produce, read_all, wait_for, worker_env

pytestmark = [pytest.mark.kafka]

SAMPLES = [
    line.strip()
    for line in (REPO / "mappings" / "samples" / "canvas_events.jsonl").read_bytes().splitlines()
    if line.strip()
][:5]
# Sections whose secrets would switch on a feature this test cannot drive (basic auth on /metrics).
NOT_FED = {"http"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _metrics(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return None


def _consumed(text: str | None) -> float:
    for line in (text or "").splitlines():
        if line.startswith("caliper_inputs_consumed_total "):
            return float(line.split()[1])
    return -1


def test_no_secret_appears_in_logs_config_metrics_or_dead_letters(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    topics = make_topics(secure_kafka)
    user, password = secure_kafka.new_user()
    secure_kafka.grant(f"User:{user}", topics.worker_acls())
    produce(secure_kafka.admin_conf(), topics.input, [*SAMPLES, b"\xff not json"])
    enc = secure_kafka.settings["encrypted_key"]
    client = secure_kafka.settings["clients"][enc["client"]]
    oauth_secret = f"oauth-client-secret-{uuid.uuid4().hex}"
    secrets = {"sasl.password": password, "ssl.key.password": enc["password"], "oauth": oauth_secret}

    # sasl.password from a file (with the trailing newline editors leave), the key passphrase and an
    # OAUTHBEARER client secret from the config file
    (tmp_path / "sasl-password").write_text(password + "\n")
    config = tmp_path / "config.toml"
    config.write_text(
        "[kafka]\n"
        f'"ssl.certificate.location" = "{client["cert"]}"\n'
        f'"ssl.key.location" = "{enc["key"]}"\n'
        f'"ssl.key.password" = "{enc["password"]}"\n'
        f'"sasl.oauthbearer.client.secret" = "{oauth_secret}"\n'
    )
    conf = {k: v for k, v in secure_kafka.scram(user, password).items() if k != "sasl.password"}
    port = _free_port()
    env = worker_env(
        conf,
        topics,
        CALIPER_KAFKA_SASL_PASSWORD_FILE=str(tmp_path / "sasl-password"),
        CALIPER_KAFKA_DEBUG="security,broker,conf,protocol",
        CALIPER_METRICS_PORT=str(port),
        CALIPER_PRIVACY_PRESET="minimal",  # the privacy key (fed below) in use, hashing user ids
    )
    # every other secret setting the config knows, alternately by value and by _FILE
    for i, (section, keys) in enumerate(sorted(DEFAULTS.items())):
        for key, default in keys.items():
            if section in NOT_FED or not isinstance(default, str) or not is_secret(f"{section}.{key}"):
                continue
            value = f"s3cret-{section}-{key}-{uuid.uuid4().hex}"
            name = f"CALIPER_{section.upper()}_{key.upper()}"
            secrets[f"{section}.{key}"] = value
            if i % 2:
                (tmp_path / name).write_text(value)
                env[name + "_FILE"] = str(tmp_path / name)
            else:
                env[name] = value

    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "processor", "run", "--config", str(config), "--log-level", "DEBUG"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        metrics = wait_for(
            lambda: (m := _metrics(port)) and _consumed(m) == len(SAMPLES) + 1 and m,
            60,
            f"the worker to consume every input (log: {log.read_text()[-2000:]})",
        )
        time.sleep(1.5)  # the dead letter acknowledged and counted
        metrics = _metrics(port) or metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-3000:]
    printed = subprocess.run(
        [sys.executable, "-m", "processor", "run", "--config", str(config), "--print-config"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    dead = read_all(secure_kafka.admin_conf(), topics.dlq)
    assert len(dead) == 1
    dead_text = repr([(dead[0].value(), dead[0].headers())])
    logs = log.read_text(errors="replace")

    # the secrets were in effect: it logged in, decrypted the key, and wrote at DEBUG with librdkafka's debug
    assert "SASL" in logs and len(logs.splitlines()) > 50
    assert sum(len(read_all(secure_kafka.admin_conf(), topics.output(p))) for p in PROFILES) == len(SAMPLES)
    for place, text in (
        ("logs", logs),
        ("--print-config", printed.stdout + printed.stderr),
        ("/metrics", metrics),
        ("dead letters", dead_text),
    ):
        leaked = [name for name, value in secrets.items() if value in text]
        assert leaked == [], f"{leaked} leaked into {place}"
    for key in ("sasl.password", "ssl.key.password", "sasl.oauthbearer.client.secret"):
        assert f'"{key}" = "{MASK}"' in printed.stdout, printed.stdout
    print(f"\nsecrets checked: {sorted(secrets)}; {len(logs.splitlines())} log lines searched")
