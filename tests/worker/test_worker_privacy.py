"""The privacy policy in the worker, against a real broker: `minimal` from the environment hashes
every user id (keys included), the same way in two workers; no key, no start; the key never shows."""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson

from .conftest import PROFILES, REPO, produce, read_all, sample_events

KEY = "the-school-privacy-key-0f3c9a7e"
HEX64 = re.compile(rb"[0-9a-f]{64}")


def _hash(value: str) -> str:
    return hmac.new(KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def _outputs(s, want: int, timeout: float = 60.0) -> list:
    deadline = time.monotonic() + timeout
    got: list = []
    while time.monotonic() < deadline:
        got = [r for p in PROFILES for r in read_all(s.bootstrap, s.output(p))]
        if len(got) >= want:
            return got
        time.sleep(0.5)
    return got


def test_minimal_preset_from_the_environment_in_two_workers(stack, tmp_path: Path) -> None:
    s = stack(partitions=2)
    events = sample_events()
    user_ids = {orjson.loads(v)["metadata"].get("user_id") for v in events} - {None, "0"}
    produce(s.bootstrap, s.input, [(None, v, None) for v in events])
    log = tmp_path / "worker.log"
    env = {"CALIPER_PRIVACY_PRESET": "minimal", "CALIPER_PRIVACY_KEY_FILE": str(tmp_path / "key")}
    (tmp_path / "key").write_text(KEY + "\n")
    first, _ = s.start(log=log, **env)
    second, _ = s.start(log=log, **env)  # one group: each takes a partition, one key between them
    outs = _outputs(s, len(events))
    for proc in (first, second):
        proc.terminate()
        assert proc.wait(30) == 0
    mapped = outs
    assert len(mapped) == len(events)
    blob = b"\n".join(m.value or b"" for m in mapped) + b"\n".join(m.key or b"" for m in mapped)
    for user_id in user_ids:
        assert user_id.encode() not in blob, f"user id {user_id} reached an output topic"
    hashed = {_hash(u) for u in user_ids}
    seen = set()
    for m in mapped:
        event = orjson.loads(m.value)["data"][0]
        actor = event["actor"]
        if actor.get("type") == "Person" and actor["id"] != "urn:instructure:canvas:user:0":
            user = actor["id"].rsplit(":", 1)[1]
            assert user in hashed
            assert m.key == actor["id"].encode()  # the routing key is the hashed actor too
            seen.add(user)
        ext = event.get("extensions", {}).get("com.instructure.canvas", {})
        assert "user_agent" not in ext and "user_login" not in orjson.dumps(event).decode()
    assert len(seen) >= 2  # both workers' events, hashed alike
    text = log.read_text()
    assert KEY not in text


def test_a_hash_policy_without_its_key_does_not_start(stack, tmp_path: Path) -> None:
    s = stack(partitions=1)
    env = s.env(CALIPER_PRIVACY_PRESET="minimal")
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "processor", "run"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "privacy" in lines[0] and "CALIPER_PRIVACY_KEY" in lines[0], run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert time.monotonic() - started < 30
