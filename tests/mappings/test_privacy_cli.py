"""`transform --privacy FILE --privacy-preset NAME`, and the [privacy] table of `run --print-config`."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path

import orjson

from tests.mappings.canvas_builders import canvas_event

REPO = Path(__file__).resolve().parents[2]
KEY = "a-school-key-for-the-cli-tests"
URL = "https://canvas.example.edu/courses/1?access_token=1~secret&page=2"


def _cli(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    base = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CALIPER_")}
    return subprocess.run(
        [sys.executable, "-m", "processor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=REPO,
        timeout=60,
    )


def _event() -> str:
    event = canvas_event("wiki_page_created", {"wiki_page_id": "8801", "title": "Limits"})
    event["metadata"].update(url=URL, user_id="10420000000004711", client_ip="198.51.100.23")
    return orjson.dumps(event).decode() + "\n"


def _ext(line: str) -> dict:
    return json.loads(line)["data"][0]["extensions"]["com.instructure.canvas"]


def test_the_default_cuts_credentials_from_urls() -> None:
    run = _cli("transform", stdin=_event())
    assert run.returncode == 0, run.stderr
    assert _ext(run.stdout)["request_url"] == "https://canvas.example.edu/courses/1?page=2"


def test_minimal_preset_with_the_key_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(KEY + "\n")
    run = _cli(
        "transform",
        "--privacy-preset",
        "minimal",
        stdin=_event(),
        env={"CALIPER_PRIVACY_KEY_FILE": str(tmp_path / "key")},
    )
    assert run.returncode == 0, run.stderr
    event = json.loads(run.stdout)["data"][0]
    expected = hmac.new(KEY.encode(), b"10420000000004711", hashlib.sha256).hexdigest()
    assert event["actor"]["id"] == f"urn:instructure:canvas:user:{expected}"
    assert _ext(run.stdout)["client_ip"] == "198.51.100.0"


def test_minimal_without_a_key_is_refused_in_one_line() -> None:
    run = _cli("transform", "--privacy-preset", "minimal", stdin=_event())
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1 and "need a key" in run.stderr and "CALIPER_PRIVACY_KEY" in run.stderr


def test_a_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[privacy]\nurls = "strip_query"\n[privacy.fields]\nhostname = "drop"\nclient_ip = "truncate"\n'
    )
    run = _cli("transform", "--privacy", str(policy), stdin=_event())
    assert run.returncode == 0, run.stderr
    ext = _ext(run.stdout)
    assert ext["request_url"] == "https://canvas.example.edu/courses/1"
    assert "hostname" not in ext and ext["client_ip"] == "198.51.100.0"


def test_policy_files_that_cannot_work(tmp_path: Path) -> None:
    cases = {
        'key = "in-the-file"\n': "holds a key",
        '[privacy]\nurls = "sometimes"\n': "privacy.urls: expected one of keep, strip_query, remove_params",
        "[privacy\n": "is not valid TOML",
    }
    for text, message in cases.items():
        policy = tmp_path / "policy.toml"
        policy.write_text(text)
        run = _cli("transform", "--privacy", str(policy), stdin=_event())
        assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr
    run = _cli("transform", "--privacy", str(tmp_path / "absent.toml"), stdin=_event())
    assert run.returncode == 2 and "cannot read" in run.stderr


def test_run_print_config_shows_the_policy_and_masks_its_key(tmp_path: Path) -> None:
    config = tmp_path / "worker.toml"
    config.write_text('[privacy]\npreset = "minimal"\nremove_params = ["page"]\nurls = "remove_params"\n')
    run = _cli("run", "--config", str(config), "--print-config", env={"CALIPER_PRIVACY_KEY": KEY})
    assert run.returncode == 0, run.stderr
    assert KEY not in run.stdout + run.stderr
    assert 'preset = "minimal"' in run.stdout and 'remove_params = ["page"]' in run.stdout
    refused = _cli("run", "--config", str(config), "--print-config")
    assert refused.returncode == 2 and "need a key" in refused.stderr
