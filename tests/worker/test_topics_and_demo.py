"""`caliper-processor topics create` and the demo, against a real broker."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import uuid

from confluent_kafka.admin import AdminClient

from .conftest import PROFILES, REPO


def _delete(bootstrap: str, topics: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.delete_topics(topics, operation_timeout=30).values():
        with contextlib.suppress(Exception):
            fut.result(30)


def test_topics_create_is_idempotent(kafka_bootstrap: str, tmp_path) -> None:
    base = f"test-tc-{uuid.uuid4().hex[:8]}"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[topics]\ninput = "{base}-in"\n[topics.events]\ngrade_change = "{base}-grades"\n')
    env = {
        "PATH": "/usr/bin:/bin",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CALIPER_OUTPUT_TOPIC_TEMPLATE": f"{base}-{{profile}}",
        "CALIPER_DLQ_TOPIC": f"{base}-dlq",
        "CALIPER_UNMAPPED_TOPIC": f"{base}-unmapped",
    }
    wanted = {f"{base}-in", f"{base}-grades", f"{base}-dlq", f"{base}-unmapped"} | {
        f"{base}-{p}" for p in PROFILES
    }
    cmd = [sys.executable, "-m", "processor", "topics", "create", "--partitions", "2", "--config", str(cfg)]
    try:
        first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert first.returncode == 0, first.stderr
        created = dict(line.split()[::-1] for line in first.stdout.splitlines())
        assert set(created) == wanted and set(created.values()) == {"created"}
        meta = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics
        assert all(len(meta[t].partitions) == 2 for t in wanted)
        second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert second.returncode == 0, second.stderr
        assert {line.split()[0] for line in second.stdout.splitlines()} == {"exists"}
    finally:
        _delete(kafka_bootstrap, sorted(wanted))


def test_demo_runs_and_balances(kafka_bootstrap: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    run = subprocess.run(
        [sys.executable, "-m", "processor.demo", "--repeat", "2", "--keep-old"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=90,
    )
    prefix = re.search(r"topics: (caliper-demo-[0-9a-f-]+)\.", run.stdout)
    try:
        assert run.returncode == 0, run.stdout + run.stderr
        assert ": balanced" in run.stdout
        assert "dead letters by stage: decode 2, unwrap 2, map 2" in run.stdout
        assert re.search(r"unmapped\s+\S+\s+3\n", run.stdout)
        assert '"dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1"' in run.stdout
        assert "/metrics" in run.stdout
    finally:
        if prefix:
            admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
            ours = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix.group(1) + ".")]
            _delete(kafka_bootstrap, ours)
