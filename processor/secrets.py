"""Secret settings: which names hold secrets, `<NAME>_FILE` indirection, and redaction of their values.

One rule decides what is secret, so `--print-config`, logs, exception text and dead-letter headers
agree: a setting is secret when its name (section and key, or the librdkafka property) says password,
passphrase, secret, key (a bare `key`, `api_key`, an inline `ssl.key.pem`), token, credentials, JAAS
or OAUTHBEARER config, or basic-auth user info. Paths to key files (`ssl.key.location`) are not
secrets; the files they name are the operator's to protect.

Kubernetes mounts Secrets as files, so every secret setting can also come from a file:
`CALIPER_KAFKA_SASL_PASSWORD_FILE=/run/secrets/kafka-password` sets `sasl.password` to the file's
contents (one trailing newline removed). Setting both the variable and its `_FILE` twin is an error.

Values are masked, never hashed: a hash of a short password can be brute-forced from a log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "********"
FILE_SUFFIX = "_FILE"
# Shorter values are not redacted from free text: "a" or "no" would mangle every message.
MIN_REDACT_LEN = 4

_SECRET_NAME = re.compile(
    r"password|passwd|passphrase|secret|credential|jaas|oauthbearer\.config|user[._]?info"
    # a bare `key` is secret (privacy.key, api_key), but `...private.key` + `_FILE` is librdkafka's path
    # and ingest.tls_key the path of a PEM file
    r"|(^|(?<!private)(?<!tls)[._])(api[._]?)?key$|(^|[._])token$|key\.pem$|private\.key\.(pem|passphrase)$",
    re.IGNORECASE,
)
# user:password@ inside a URL (a Schema Registry or JWKS URL with credentials in it)
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")

_known: set[str] = set()


def is_secret(name: str) -> bool:
    """`sasl.password`, `ssl.key.password`, `privacy.key`, `schema_registry.basic_auth_user_info`, ..."""
    return bool(_SECRET_NAME.search(name))


def mask_value(name: str, value: Any) -> Any:
    """The value as --print-config shows it: secrets masked, credentials cut out of URLs."""
    if value in (None, ""):
        return value
    if is_secret(name):
        return MASK
    if isinstance(value, str) and "@" in value:
        return _URL_USERINFO.sub(lambda m: m["scheme"] + MASK + "@", value)
    return value


def env_setting_name(env_name: str) -> str:
    """CALIPER_KAFKA_SASL_PASSWORD -> kafka.sasl.password (the name `is_secret` judges)."""
    name = env_name.removeprefix("CALIPER_")
    return name.lower().replace("_", ".")


def resolve_files(env: Mapping[str, str], error: type[Exception] = ValueError) -> dict[str, str]:
    """A copy of `env` where each CALIPER_<NAME>_FILE of a secret setting became CALIPER_<NAME>."""
    out = dict(env)
    for name, path in env.items():
        if not (name.startswith("CALIPER_") and name.endswith(FILE_SUFFIX)):
            continue
        target = name[: -len(FILE_SUFFIX)]
        if not is_secret(env_setting_name(target)):
            continue  # not a secret: e.g. CALIPER_KAFKA_SASL_OAUTHBEARER_ASSERTION_FILE is librdkafka's own
        if env.get(target):
            raise error(f"${target} and ${name} are both set; set only one")
        if not path:
            raise error(f"${name} is empty; it should name a file")
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read()
        except OSError as exc:
            raise error(f"${name}: cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise error(f"${name}: {path} is not UTF-8 text") from None
        value = value.removesuffix("\n").removesuffix("\r")
        if not value:
            raise error(f"${name}: {path} is empty")
        out[target] = value
        del out[name]
    return out


def secret_values(items: Iterable[tuple[str, Any]]) -> set[str]:
    """The values to redact from free text: each secret setting's value, and URL credentials."""
    found: set[str] = set()
    for name, value in items:
        if not isinstance(value, str) or not value:
            continue
        if is_secret(name):
            found.add(value)
            _user, sep, password = value.partition(":")  # basic-auth user info "user:password"
            if sep and "user" in name.lower() and "info" in name.lower():
                found.add(password)
        for m in _URL_USERINFO.finditer(value):
            found.add(m["userinfo"])
            found.add(m["userinfo"].partition(":")[2])
    return {v for v in found if len(v) >= MIN_REDACT_LEN}


def remember(values: Iterable[str]) -> None:
    """Register values that `redact` cuts from text from now on (the effective config's secrets)."""
    _known.update(v for v in values if len(v) >= MIN_REDACT_LEN)


def redact(text: str) -> str:
    """`text` with every remembered secret replaced by the mask (longest first, so none leaks in part)."""
    if not _known or not text:
        return text
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """On a handler: masks remembered secrets in the message, the extra fields and exception text.

    A last line of defence: nothing in the worker logs a secret on purpose, but librdkafka messages
    and exceptions are not ours to word.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not _known:
            return True
        message = record.getMessage()
        clean = redact(message)
        if record.exc_info:
            raw = logging.Formatter().formatException(record.exc_info)
            if redact(raw) != raw:  # fold the cleaned traceback into the message
                clean += "\n" + redact(raw)
                record.exc_info = None
                record.exc_text = None
        if clean != message:
            record.msg, record.args = clean, ()
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        return True


def protect_logging() -> None:
    """Put the redacting filter on every handler of the root logger (call after logs.setup)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
