"""Config: defaults, the shipped file, file and environment overrides, validation, masking."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from processor.config import DEFAULTS, Config, ConfigError, load, to_toml

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "caliper-processor.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_shipped_file_equals_the_built_in_defaults() -> None:
    from_file = load(SHIPPED, env={})
    built_in = load(None, env={})
    assert from_file.as_dict(mask=False) == built_in.as_dict(mask=False)
    # and every key of the code's defaults is spelled out (not only implied) in the file
    data = tomllib.loads(SHIPPED.read_text())
    for section, keys in DEFAULTS.items():
        assert set(data[section]) - {"profiles", "events"} == set(keys), section
    assert data["kafka"]["bootstrap"]["servers"] == "127.0.0.1:9092"


def test_defaults_match_the_documented_contract() -> None:
    cfg = load(None, env={})
    assert cfg.topics["input"] == "canvas.live-events"
    assert cfg.output_topic("grading") == "caliper.grading"
    assert cfg.topics["dlq"] == "canvas.live-events.dlq"
    assert cfg.topics["unmapped"] == "canvas.live-events.unmapped"
    assert cfg.http["port"] == 9464
    c = cfg.consumer_config()
    assert c["partition.assignment.strategy"] == "cooperative-sticky"
    assert c["enable.auto.commit"] is False and c["enable.auto.offset.store"] is False
    # a small prefetch queue keeps peak RSS low; refilling it after 10 ms (not 1 s) keeps the loop fed
    assert c["queued.max.messages.kbytes"] == 16384 and c["fetch.queue.backoff.ms"] == 10
    p = cfg.producer_config()
    assert p["enable.idempotence"] is True and p["acks"] == "all"


def test_file_then_environment_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[topics]
input = "from-file"
output_template = "file.{profile}"
[topics.profiles]
grading = "grades-here"
[topics.events]
submission_created = "subs"
[processor]
max_in_flight = 123
validate = true
[kafka]
security.protocol = "SASL_SSL"
sasl.password = "file-secret"
[consumer]
fetch.min.bytes = 10
[producer]
linger.ms = 50
enable.gapless.guarantee = true
""",
    )
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "b1:9092,b2:9092",
        "CALIPER_INPUT_TOPIC": "from-env",
        "CALIPER_GROUP_ID": "g-env",
        "CALIPER_METRICS_PORT": "0",
        "CALIPER_PROCESSOR_COMMIT_EVERY": "77",
        "CALIPER_PROCESSOR_STRICT": "true",
        "CALIPER_KAFKA_SASL_USERNAME": "user",
        "CALIPER_CONSUMER_SESSION_TIMEOUT_MS": "12000",
        "CALIPER_PRODUCER_LINGER_MS": "7",
        "CALIPER_SHARED_DIR": "/not/a/setting",  # other CALIPER_ variables are left alone
    }
    cfg = load(path, env=env)
    assert cfg.topics["input"] == "from-env"
    assert cfg.output_topic("basic") == "file.basic"
    assert cfg.output_topic("grading") == "grades-here"
    assert cfg.event_topics == {"submission_created": "subs"}
    assert cfg.processor["max_in_flight"] == 123
    assert cfg.processor["commit_every"] == 77
    assert cfg.processor["strict"] is True and cfg.processor["validate"] is True
    assert cfg.processor["group_id"] == "g-env"
    assert cfg.http["port"] == 0
    c, p = cfg.consumer_config(), cfg.producer_config()
    assert c["bootstrap.servers"] == p["bootstrap.servers"] == "b1:9092,b2:9092"
    assert c["group.id"] == "g-env"
    assert c["security.protocol"] == p["security.protocol"] == "SASL_SSL"
    assert c["sasl.username"] == "user" and c["sasl.password"] == "file-secret"
    assert c["fetch.min.bytes"] == 10 and "fetch.min.bytes" not in p
    assert c["session.timeout.ms"] == "12000"
    assert p["linger.ms"] == "7" and "linger.ms" not in c
    assert p["enable.gapless.guarantee"] == "true"
    assert "grades-here" in cfg.all_output_topics() and "subs" in cfg.all_output_topics()


@pytest.mark.parametrize(
    ("text", "env", "named"),
    [
        ("[processor]\nmax_in_fligt = 5\n", {}, "processor.max_in_fligt"),
        ("[procesor]\nx = 1\n", {}, "[procesor]"),
        ('[processor]\nmax_in_flight = "many"\n', {}, "processor.max_in_flight"),
        ("[processor]\nstrict = 1\n", {}, "processor.strict"),
        ('[processor]\nunmapped = "drop"\n', {}, "processor.unmapped"),
        ("[processor]\nbatch_size = 0\n", {}, "processor.batch_size"),
        ('[topics]\noutput_template = "caliper.events"\n', {}, "topics.output_template"),
        ('[topics]\noutput_template = "caliper.{profile}.{tenant}"\n', {}, "topics.output_template"),
        ('[topics]\noutput_template = "caliper.{profile"\n', {}, "topics.output_template"),
        ('[topics]\noutput_template = "caliper/{profile}"\n', {}, "topics.output_template"),
        ('[topics]\ndlq = "bad topic"\n', {}, "topics.dlq"),
        ('[topics.profiles]\ngrades = "x"\n', {}, "topics.profiles.grades"),
        ("[http]\nport = 70000\n", {}, "http.port"),
        ('[logging]\nformat = "xml"\n', {}, "logging.format"),
        ("[consumer]\nenable.auto.commit = true\n", {}, "consumer.enable.auto.commit"),
        ("", {"CALIPER_PROCESSOR_MAX_IN_FLIGHT": "lots"}, "CALIPER_PROCESSOR_MAX_IN_FLIGHT"),
        ("", {"CALIPER_PROCESSOR_NO_SUCH": "1"}, "CALIPER_PROCESSOR_NO_SUCH"),
        ("", {"CALIPER_METRICS_PORT": "http"}, "CALIPER_METRICS_PORT"),
        ("", {"CALIPER_OUTPUT_TOPIC_TEMPLATE": "no-field"}, "topics.output_template"),
        ("not toml ===", {}, "not valid TOML"),
    ],
)
def test_bad_settings_fail_naming_the_key(tmp_path: Path, text: str, env: dict, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, text), env=env)
    assert named in str(err.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load(tmp_path / "absent.toml", env={})


def test_secrets_are_masked_and_the_dump_reloads(tmp_path: Path) -> None:
    env = {
        "CALIPER_KAFKA_SASL_PASSWORD": "hunter2",
        "CALIPER_PRODUCER_SSL_KEY_PASSWORD": "k3y",
        "CALIPER_CONSUMER_SASL_OAUTHBEARER_CLIENT_SECRET": "s3cret",
        "CALIPER_KAFKA_SASL_USERNAME": "alice",
    }
    cfg: Config = load(None, env=env)
    text = to_toml(cfg.as_dict(mask=True))
    for secret in ("hunter2", "k3y", "s3cret"):
        assert secret not in text
    assert "alice" in text
    reread = tomllib.loads(text)
    assert reread["kafka"]["sasl.password"] == "********"
    assert reread["producer"]["ssl.key.password"] == "********"
    assert reread["consumer"]["sasl.oauthbearer.client.secret"] == "********"
    # the unmasked dump, written back as a file, gives the same settings
    again = load(write(tmp_path, to_toml(cfg.as_dict(mask=False))), env={})
    assert again.as_dict(mask=False) == cfg.as_dict(mask=False)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "processor", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_print_config_and_bad_config_through_the_cli(tmp_path: Path) -> None:
    base = {"PATH": "/usr/bin:/bin", "CALIPER_KAFKA_SASL_PASSWORD": "hunter2", "CALIPER_INPUT_TOPIC": "in-x"}
    ok = _cli("run", "--print-config", env=base)
    assert ok.returncode == 0, ok.stderr
    assert 'input = "in-x"' in ok.stdout and "hunter2" not in ok.stdout and "********" in ok.stdout
    bad = _cli("run", "--config", str(write(tmp_path, "[http]\nprt = 1\n")), env=base)
    assert bad.returncode == 2
    assert "http.prt" in bad.stderr
    helptext = _cli("run", "--help", env=base).stdout
    for word in ("--exit-when-drained", "--print-config", "CALIPER_KAFKA_<PROP>", "KAFKA_BOOTSTRAP_SERVERS"):
        assert word in helptext
