"""Which settings are secret, `<NAME>_FILE`, masking in --print-config, redaction (no broker needed)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from processor import dlq, secrets
from processor.config import Config, ConfigError, load, to_toml
from processor.secrets import MASK, is_secret, resolve_files

SECRET_NAMES = [
    "sasl.password",
    "ssl.key.password",
    "ssl.keystore.password",
    "ssl.key.pem",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.config",
    "sasl.jaas.config",
    "sasl.oauthbearer.assertion.private.key.passphrase",
    "schema_registry.basic_auth_user_info",
    "schema_registry.password",
    "basic.auth.user.info",
    "privacy.key",
    "ingest.secret",
    "http.basic_auth_password",
    "schema_registry.api_key",
]
NOT_SECRET = [
    "bootstrap.servers",
    "sasl.username",
    "sasl.mechanism",
    "ssl.key.location",
    "ssl.ca.location",
    "ssl.certificate.location",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.assertion.private.key.file",
    "privacy.key_file",
    "topics.input",
    "processor.group_id",
    "schema_registry.url",
    "ingest.jwks_url",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize("name", NOT_SECRET)
def test_not_secret_names(name: str) -> None:
    assert not is_secret(name)


def test_a_secret_comes_from_its_file_without_the_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("hunter2-from-file\n")
    env = {"CALIPER_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "pw"), "KAFKA_BOOTSTRAP_SERVERS": "b:9092"}
    cfg = load(env=env)
    assert cfg.kafka["sasl.password"] == "hunter2-from-file"
    assert cfg.consumer_config()["sasl.password"] == "hunter2-from-file"
    (tmp_path / "key").write_text("  spaces kept \r\n")
    out = resolve_files({"CALIPER_PRIVACY_KEY_FILE": str(tmp_path / "key")})
    assert out == {"CALIPER_PRIVACY_KEY": "  spaces kept "}
    out = resolve_files({"CALIPER_INGEST_SECRET_FILE": str(tmp_path / "key")})
    assert out == {"CALIPER_INGEST_SECRET": "  spaces kept "}


def test_file_errors_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\$CALIPER_KAFKA_SASL_PASSWORD_FILE: cannot read .*/missing"):
        load(env={"CALIPER_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "missing")})
    (tmp_path / "pw").write_text("x")
    both = {"CALIPER_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "pw"), "CALIPER_KAFKA_SASL_PASSWORD": "y"}
    with pytest.raises(ConfigError, match="both set"):
        load(env=both)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        load(env={"CALIPER_KAFKA_SSL_KEY_PASSWORD_FILE": str(tmp_path / "empty")})


def test_a_file_property_of_librdkafka_is_left_alone() -> None:
    # sasl.oauthbearer.assertion.private.key.file is a path librdkafka reads itself, not our _FILE
    env = {"CALIPER_KAFKA_SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE": "/keys/jwt.pem"}
    assert resolve_files(env) == env
    assert load(env=env).kafka["sasl.oauthbearer.assertion.private.key.file"] == "/keys/jwt.pem"


def test_print_config_masks_secrets_in_every_section() -> None:
    cfg = load(
        env={
            "CALIPER_KAFKA_SASL_PASSWORD": "pw-kafka",
            "CALIPER_PRODUCER_SSL_KEY_PASSWORD": "pw-producer",
            "CALIPER_KAFKA_SASL_USERNAME": "worker",
        }
    )
    # a scalar section holding a secret (as [privacy] key and [ingest] secret do) and a URL with credentials
    cfg.sections["privacy"] = {"key": "the-privacy-key", "preset": "minimal"}
    cfg.sections["registry"] = {"url": "https://reg-user:reg-pass@registry.example:8081/apis"}
    text = to_toml(cfg.as_dict(mask=True))
    for value in ("pw-kafka", "pw-producer", "the-privacy-key", "reg-pass", "reg-user"):
        assert value not in text
    assert f'"sasl.password" = "{MASK}"' in text
    assert f'key = "{MASK}"' in text
    assert 'preset = "minimal"' in text and '"sasl.username" = "worker"' in text
    assert f"https://{MASK}@registry.example:8081/apis" in text


def test_remembered_secrets_are_cut_from_logs_and_dead_letter_headers() -> None:
    cfg = Config(sections={"ingest": {"secret": "ingest-shared-secret"}}, kafka={"sasl.password": "hunter2!"})
    cfg.kafka["basic.auth.user.info"] = "sr-user:sr-password"
    found = secrets.secret_values(cfg.secret_items())
    assert found == {"ingest-shared-secret", "hunter2!", "sr-user:sr-password", "sr-password"}
    secrets.remember(found)
    try:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        logger = logging.getLogger("test.redaction")
        logger.addHandler(handler)
        logger.propagate = False
        handler.addFilter(secrets.RedactingFilter())
        logger.warning("login with %s failed", "hunter2!", extra={"fields": {"e": "bad sr-password"}})
        try:
            raise ValueError("token ingest-shared-secret rejected")
        except ValueError:
            logger.exception("oops")
        out = stream.getvalue()
        assert "hunter2!" not in out and "ingest-shared-secret" not in out
        assert f"login with {MASK} failed" in out
        assert (
            logger.handlers[0]
            .filters[0]
            .filter(logging.LogRecord("x", 30, "", 0, "%s", ("sr-password",), None))
        )
        headers = dict(
            dlq.error_headers(
                None, stage="map", exc_class="E", message="saw sr-password", topic="t", partition=0, offset=1
            )
        )
        assert headers[dlq.MESSAGE] == f"saw {MASK}".encode()
    finally:
        secrets._known.clear()
