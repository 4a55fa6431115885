"""Avro output: envelopes in the Confluent wire format, the schema registered once at start-up.

Wire format: magic byte 0, the schema id as 4 bytes big-endian, then the Avro binary body. The
subject is `<topic>-value` (TopicNameStrategy, the default of Confluent's serializers and of Kafka
Connect) or the record's full name (RecordNameStrategy, one subject for every topic). `prepare`
registers the schema (or, with auto_register off, as in production, only looks it up) and caches
the id per topic, so `serialize` never calls the registry.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable, Iterable
from typing import Any

from processor.avro.codec import encode_into
from processor.avro.registry import RegistryError, RegistryUnavailable, SchemaRegistryClient
from processor.avro.schema import ENVELOPE_NAME, schema_text
from processor.config import ConfigError

log = logging.getLogger("processor.avro")
MAGIC = 0
FIRST_BACKOFF_S = 0.5


def subject_for(topic: str, strategy: str = "topic") -> str:
    """TopicNameStrategy: `<topic>-value`; RecordNameStrategy: the record's full name."""
    return f"{topic}-value" if strategy == "topic" else ENVELOPE_NAME


def read_password(settings: dict[str, Any]) -> str:
    """schema_registry.password (CALIPER_SCHEMA_REGISTRY_PASSWORD_FILE reads it from a file)."""
    return str(settings.get("password") or "")


class AvroSerializer:
    """`prepare(topics)` once, then `serialize(topic, envelope) -> bytes` per record."""

    def __init__(
        self,
        settings: dict[str, Any],
        *,
        client: SchemaRegistryClient | None = None,
        schema: str | None = None,
        on_wait: Callable[[str | None], None] | None = None,
        stopping: Callable[[], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or SchemaRegistryClient(
            settings["url"],
            username=settings.get("username", ""),
            password=read_password(settings),
            ca_location=settings.get("ca_location", ""),
            timeout_s=float(settings.get("timeout_s", 10.0)),
        )
        self.schema = schema or schema_text()
        self.strategy = settings.get("subject_name_strategy", "topic")
        self.auto_register = bool(settings.get("auto_register", True))
        self._on_wait = on_wait or (lambda _why: None)
        self._stopping = stopping or (lambda: False)
        self._headers: dict[str, bytes] = {}
        self._ids: dict[str, int] = {}  # subject -> schema id
        self.registry_calls = 0

    def schema_id(self, topic: str) -> int:
        return struct.unpack(">I", self._headers[topic][1:5])[0]

    def prepare(self, topics: Iterable[str]) -> None:
        """Register or look up the schema for every topic; retries while the registry is unreachable.

        ConfigError (exit 2) when the registry refuses: incompatible with the subject's latest
        version, not registered while auto_register is off, bad credentials, an invalid schema.
        """
        for topic in topics:
            if topic not in self._headers:
                sid = self._resolve(subject_for(topic, self.strategy))
                if sid is None:  # stopped while waiting: the worker sees `stopping` and exits 0
                    return
                self._headers[topic] = struct.pack(">bI", MAGIC, sid)

    def serialize(self, topic: str, envelope: dict) -> bytes:
        header = self._headers.get(topic)
        if header is None:  # a topic prepare() was not told about: resolved once, then cached
            self.prepare([topic])
            header = self._headers.get(topic)
            if header is None:
                raise RuntimeError(f"stopped before the schema id of {topic} was known")
        out = bytearray(header)
        encode_into(envelope, out)
        return bytes(out)

    def _resolve(self, subject: str) -> int | None:
        """The subject's schema id; None when asked to stop while the registry was unreachable."""
        cached = self._ids.get(subject)
        if cached is not None:
            return cached
        deadline_s = float(self.settings.get("startup_timeout_s", 0.0))
        started = time.monotonic()
        backoff = FIRST_BACKOFF_S
        cap = float(self.settings.get("retry_backoff_max_s", 30.0))
        while True:
            try:
                self.registry_calls += 1
                sid = (
                    self.client.register(subject, self.schema)
                    if self.auto_register
                    else self.client.lookup(subject, self.schema)
                )
                break
            except RegistryUnavailable as exc:
                waited = time.monotonic() - started
                why = f"schema registry unreachable ({exc}); retrying"
                self._on_wait(why)
                if deadline_s and waited >= deadline_s:
                    raise ConfigError(
                        f"schema registry unreachable for {waited:.0f}s "
                        f"(schema_registry.startup_timeout_s): {exc}"
                    ) from None
                log.warning(
                    "schema registry unreachable; retrying",
                    extra={
                        "fields": {"subject": subject, "error": str(exc), "retry_in_s": round(backoff, 1)}
                    },
                )
                end = time.monotonic() + backoff
                while time.monotonic() < end:
                    if self._stopping():
                        log.info("stopped while waiting for the schema registry")
                        return None
                    time.sleep(min(0.2, backoff))
                backoff = min(cap, backoff * 2)
            except RegistryError as exc:
                raise ConfigError(self._refusal(subject, exc)) from None
        self._on_wait(None)
        self._ids[subject] = sid
        log.info(
            "Avro schema ready",
            extra={"fields": {"subject": subject, "schema_id": sid, "registered": self.auto_register}},
        )
        return sid

    def _refusal(self, subject: str, exc: RegistryError) -> str:
        if exc.status == 409:
            details = ""
            try:
                messages = self.client.incompatibilities(subject, self.schema)
                if messages and messages != ["is_compatible: false"]:
                    details = "; " + "; ".join(messages)
            except (RegistryError, RegistryUnavailable):
                pass
            return (
                f"schema registry refused the envelope schema for subject {subject!r} as incompatible "
                f"with its latest version: {exc.message}{details}"
            )
        if exc.status == 404 and not self.auto_register:
            return (
                f"the envelope schema is not registered under subject {subject!r} and "
                "schema_registry.auto_register is off: register it first "
                f"(caliper-processor schema | POST {self.client.url}/subjects/{subject}/versions) "
                f"({exc.message})"
            )
        if exc.status in (401, 403):
            return f"schema registry denied access to subject {subject!r} (check the credentials): {exc}"
        return f"schema registry rejected the envelope schema for subject {subject!r}: {exc}"
