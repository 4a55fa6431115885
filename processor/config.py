"""Worker settings: built-in defaults, then a TOML file, then the environment (which wins).

Sections:
  [topics]            input, output_template, dlq, unmapped; [topics.profiles] and [topics.events]
                      override the output topic of one profile or one Canvas event name
  [processor]         the loop: batching, in-flight bound, commits, shutdown, validation, unmapped policy
  [http]              the /metrics, /healthz, /readyz server
  [logging]           format and level
  [ingest]            `caliper-processor ingest`, the HTTPS receiver for Canvas deliveries
  [privacy]           the privacy policy: preset, key, and the rules of mappings.privacy
  [kafka]             librdkafka properties for both clients (bootstrap.servers, security.protocol, sasl.*)
  [consumer]          librdkafka properties for the consumer only
  [producer]          librdkafka properties for the producer only

The three librdkafka sections are passed through unchecked by us (librdkafka rejects unknown properties
at start-up, naming them), so SASL/SSL, MSK IAM or Confluent Cloud settings need no code change.
Environment: the fixed names of DESIGN.md (KAFKA_BOOTSTRAP_SERVERS, CALIPER_INPUT_TOPIC, ...), plus
CALIPER_<SECTION>_<KEY> for the first four sections (CALIPER_PROCESSOR_MAX_IN_FLIGHT=2000) and
CALIPER_KAFKA_<PROP>, CALIPER_CONSUMER_<PROP>, CALIPER_PRODUCER_<PROP> with `_` read as `.`
(CALIPER_KAFKA_SASL_PASSWORD sets sasl.password).
"""

from __future__ import annotations

import copy
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mappings.registry import MODES as MAPPING_MODES  # instructure | extended
from mappings.registry import PROFILES  # the Caliper metric profiles, one output topic each
from processor.secrets import is_secret, mask_value, resolve_files  # noqa: F401 (is_secret re-exported)

# Every scalar setting with its default; the type of the default is the type the key accepts.
DEFAULTS: dict[str, dict[str, Any]] = {
    "topics": {
        "input": "canvas.live-events",
        "output_template": "caliper.{profile}",
        "dlq": "canvas.live-events.dlq",
        "unmapped": "canvas.live-events.unmapped",
    },
    "processor": {
        "group_id": "caliper-processor",
        "strict": False,
        "validate": False,
        "unmapped": "topic",
        "max_record_bytes": 1_000_000,
        "batch_size": 500,
        "consume_timeout_s": 0.2,
        "max_in_flight": 10_000,
        "commit_interval_s": 1.0,
        "commit_every": 5_000,
        "shutdown_timeout_s": 30.0,
        "statistics_interval_s": 5.0,
        "unmapped_names_max": 200,
        # mapping set: "instructure" (Instructure's 32, as documented) or "extended" (+ the other 50)
        "mappings": "instructure",
        # "at-least-once" (offsets committed once every output is acknowledged) or "exactly-once"
        # (outputs and offsets in one Kafka transaction; consumers read with read_committed)
        "guarantee": "at-least-once",
        # exactly-once: a transaction ends after this long or this many inputs, whichever is first
        "transaction_interval_s": 0.05,
        "transaction_max_inputs": 5_000,
        # exactly-once: "" derives it from group_id and consumer group.instance.id, else the host name
        "transactional_id": "",
    },
    "http": {
        "host": "0.0.0.0",
        "port": 9464,
        "health_stall_s": 60.0,
        # TLS on all three endpoints (PEM paths; both or neither)
        "tls_cert": "",
        "tls_key": "",
        # a CA bundle: /metrics then answers only clients with a certificate it signed
        "tls_client_ca": "",
        # HTTP basic auth on /metrics (probes stay open); the password is a secret (_FILE works)
        "auth_username": "",
        "auth_password": "",
    },
    "logging": {
        "format": "auto",
        "level": "INFO",
    },
    # Avro output (processor/avro): topics.format picks the output format, [topics.formats] per profile.
    "schema_registry": {
        "url": "",
        "username": "",
        "password": "",
        "ca_location": "",
        "subject_name_strategy": "topic",
        "auto_register": True,
        "timeout_s": 10.0,
        "retry_backoff_max_s": 30.0,
        "startup_timeout_s": 0.0,
    },
    # `caliper-processor ingest`: the HTTPS receiver for Canvas Data Services deliveries.
    "ingest": {
        "host": "0.0.0.0",
        "port": 8080,
        "path": "/canvas/live-events",
        "require_signature": True,
        "jwks_url": "https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks",
        "issuer": "",
        "leeway_s": 60.0,
        "jwks_cache_s": 3600.0,
        "jwks_refresh_min_interval_s": 30.0,
        "jwks_timeout_s": 5.0,
        "secret": "",
        "secret_header": "X-Caliper-Secret",
        "secret_param": "secret",
        "max_body_bytes": 262_144,
        "ack_timeout_s": 10.0,
        "forward_headers": "x-request-id,user-agent,content-type",
        "shutdown_timeout_s": 20.0,
        "tls_cert": "",
        "tls_key": "",
    },
}
DEFAULTS["topics"]["format"] = "json"
# The privacy policy (mappings.privacy): the preset and the key here; the finer rules (fields,
# pseudonymous_users, urls, remove_params, credential_params) in the file's [privacy] table.
DEFAULTS["privacy"] = {"preset": "instructure", "key": ""}
PRIVACY_RULES = ("fields", "pseudonymous_users", "urls", "remove_params", "credential_params")
FORMATS = ("json", "avro")

DEFAULT_KAFKA: dict[str, Any] = {"bootstrap.servers": "127.0.0.1:9092"}
PASSTHROUGH = ("kafka", "consumer", "producer")
TOPIC_MAPS = ("profiles", "events", "formats")

# The loop's delivery guarantee rests on these; letting a config flip them would silently lose data.
RESERVED = {
    "consumer": ("enable.auto.commit", "enable.auto.offset.store", "group.id"),
    "producer": ("enable.idempotence", "transactional.id"),
    "kafka": ("enable.auto.commit", "enable.auto.offset.store", "group.id", "transactional.id"),
}

# The fixed environment variables every deployment knows (DESIGN.md); they win over the file.
FIXED_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": ("kafka", "bootstrap.servers"),
    "CALIPER_INPUT_TOPIC": ("topics", "input"),
    "CALIPER_OUTPUT_TOPIC_TEMPLATE": ("topics", "output_template"),
    "CALIPER_DLQ_TOPIC": ("topics", "dlq"),
    "CALIPER_UNMAPPED_TOPIC": ("topics", "unmapped"),
    "CALIPER_GROUP_ID": ("processor", "group_id"),
    "CALIPER_METRICS_PORT": ("http", "port"),
    "CALIPER_TOPICS_FORMAT": ("topics", "format"),
    "CALIPER_SCHEMA_REGISTRY_URL": ("schema_registry", "url"),
    # mapping set (instructure | extended)
    "CALIPER_PROCESSOR_MAPPINGS": ("processor", "mappings"),
    # delivery guarantee (at-least-once | exactly-once)
    "CALIPER_PROCESSOR_GUARANTEE": ("processor", "guarantee"),
    # privacy policy preset (instructure | minimal) and its key (also CALIPER_PRIVACY_KEY_FILE)
    "CALIPER_PRIVACY_PRESET": ("privacy", "preset"),
    "CALIPER_PRIVACY_KEY": ("privacy", "key"),
}
CONFIG_ENV = "CALIPER_CONFIG"
# Scalar settings that are secrets (masked in --print-config); the librdkafka ones go by name.
SECRET_KEYS = (("ingest", "secret"),)

GUARANTEES = ("at-least-once", "exactly-once")

_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A setting that cannot work; the message names the key (and where it came from)."""


@dataclass(slots=True)
class Config:
    """The effective settings; `sections` holds the scalar sections, the rest is pass-through."""

    sections: dict[str, dict[str, Any]]
    kafka: dict[str, Any] = field(default_factory=dict)
    consumer: dict[str, Any] = field(default_factory=dict)
    producer: dict[str, Any] = field(default_factory=dict)
    profile_topics: dict[str, str] = field(default_factory=dict)
    event_topics: dict[str, str] = field(default_factory=dict)
    profile_formats: dict[str, str] = field(default_factory=dict)
    privacy_rules: dict[str, Any] = field(default_factory=dict)
    source: str = "defaults"

    @property
    def topics(self) -> dict[str, Any]:
        return self.sections["topics"]

    @property
    def processor(self) -> dict[str, Any]:
        return self.sections["processor"]

    @property
    def http(self) -> dict[str, Any]:
        return self.sections["http"]

    @property
    def logging(self) -> dict[str, Any]:
        return self.sections["logging"]

    def privacy_settings(self) -> dict[str, Any]:
        """The [privacy] table as `mappings.privacy.build_policy` reads it."""
        return {**self.sections["privacy"], **self.privacy_rules}

    def output_topic(self, profile: str) -> str:
        """The topic of one profile: its override, else the template."""
        return self.profile_topics.get(profile) or self.topics["output_template"].format(profile=profile)

    def output_format(self, profile: str) -> str:
        """The record format of one profile's topic: its [topics.formats] override, else topics.format."""
        return self.profile_formats.get(profile) or self.topics["format"]

    def all_output_topics(self) -> list[str]:
        """Every topic the worker may produce an envelope to (profiles, then per-event overrides)."""
        seen: dict[str, None] = {}
        for p in PROFILES:
            seen[self.output_topic(p)] = None
        for t in self.event_topics.values():
            seen[t] = None
        return list(seen)

    def bootstrap_servers(self) -> str:
        return str(self.kafka.get("bootstrap.servers", ""))

    def consumer_config(self) -> dict[str, Any]:
        """librdkafka consumer properties: ours, then [kafka], then [consumer]."""
        conf: dict[str, Any] = {
            "group.id": self.processor["group_id"],
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
            "statistics.interval.ms": int(self.processor["statistics_interval_s"] * 1000),
            # A 16 MB prefetch queue, refilled 10 ms after it drains below that (librdkafka waits
            # 1 s by default, which starved the loop): 45k instead of 29k events/s at 110 MB peak
            # RSS (docs/performance.md).
            "queued.max.messages.kbytes": 16384,
            "fetch.queue.backoff.ms": 10,
        }
        conf.update(self.kafka)
        conf.update(self.consumer)
        return conf

    def transactional_id(self) -> str:
        """processor.transactional_id, else one stable across restarts of the same member.

        A restarted worker must come back with its predecessor's id: `init_transactions` then aborts
        the transaction the predecessor left open, instead of read_committed consumers waiting
        for transaction.timeout.ms. Static membership (consumer group.instance.id) names the member;
        without it the host name does (a Kubernetes pod's name; stable in a StatefulSet).
        """
        if self.processor["transactional_id"]:
            return str(self.processor["transactional_id"])
        member = self.consumer.get("group.instance.id") or self.kafka.get("group.instance.id")
        if not member:
            import socket

            member = socket.gethostname()
        return f"{self.processor['group_id']}-{member}"

    def producer_config(self) -> dict[str, Any]:
        """librdkafka producer properties: idempotent with acks=all, then [kafka], then [producer]."""
        conf: dict[str, Any] = {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
            "message.max.bytes": max(1_000_000, self.processor["max_record_bytes"] + 64 * 1024),
        }
        conf.update(self.kafka)
        conf.update(self.producer)
        return conf

    @property
    def ingest(self) -> dict[str, Any]:
        return self.sections["ingest"]

    def as_dict(self, *, mask: bool = True) -> dict[str, Any]:
        """Everything, in file layout, with secrets masked (for --print-config and logs)."""
        out: dict[str, Any] = copy.deepcopy(self.sections)
        if mask:
            for section, table in out.items():
                for key, value in table.items():
                    table[key] = mask_value(f"{section}.{key}", value)
        out["topics"]["profiles"] = dict(self.profile_topics)
        out["topics"]["events"] = dict(self.event_topics)
        out["topics"]["formats"] = dict(self.profile_formats)
        out["privacy"].update(copy.deepcopy(self.privacy_rules))
        if mask:
            sr = out["schema_registry"]
            sr["password"] = mask_value("password", sr["password"])
            sr["url"] = re.sub(r"//[^/@]*@", "//********@", sr["url"])  # credentials in the URL
        for name in PASSTHROUGH:
            props = dict(getattr(self, name))
            out[name] = {k: (mask_value(k, v) if mask else v) for k, v in props.items()}
        return out

    def secret_items(self) -> list[tuple[str, Any]]:
        """(name, value) of every setting, for `secrets.secret_values` to pick the secrets from."""
        items = [(f"{s}.{k}", v) for s, table in self.sections.items() for k, v in table.items()]
        for name in PASSTHROUGH:
            items += [(k, v) for k, v in getattr(self, name).items()]
        return items


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, Any], where: str) -> None:
    """TOML turns `sasl.mechanism = "X"` into nested tables; librdkafka wants the dotted name back."""
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(name, value, out, where)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            out[name] = value
        else:
            raise ConfigError(f"{where}.{name}: expected a string, number or boolean, got {_tname(value)}")


def _tname(value: Any) -> str:
    return type(value).__name__


def _coerce(section: str, key: str, value: Any, where: str) -> Any:
    """Check (file) or parse (environment, a string) one scalar against the type of its default."""
    default = DEFAULTS[section][key]
    label = f"{where} ({section}.{key})" if where.startswith("$") else f"{section}.{key}"
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return value.strip().lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{label}: expected true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{label}: expected an integer, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{label}: expected a number, got {value!r}")
    if isinstance(value, str):
        return value
    raise ConfigError(f"{label}: expected a string, got {value!r}")


def _apply_file(cfg: Config, data: Mapping[str, Any]) -> None:
    for section, table in data.items():
        if section in PASSTHROUGH:
            if not isinstance(table, Mapping):
                raise ConfigError(f"[{section}]: expected a table of librdkafka properties")
            flat: dict[str, Any] = {}
            _flatten("", table, flat, section)
            getattr(cfg, section).update(flat)
            continue
        if section not in DEFAULTS:
            known = ", ".join([*DEFAULTS, *PASSTHROUGH])
            raise ConfigError(f"unknown section [{section}] (known: {known})")
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{section}]: expected a table")
        for key, value in table.items():
            if section == "privacy" and key in PRIVACY_RULES:
                cfg.privacy_rules[key] = value  # checked whole by build_policy in validate
                continue
            if section == "topics" and key in TOPIC_MAPS:
                if not isinstance(value, Mapping):
                    raise ConfigError(f'topics.{key}: expected a table of name = "topic"')
                target = {"profiles": cfg.profile_topics, "events": cfg.event_topics}.get(
                    key, cfg.profile_formats
                )
                for name, topic in value.items():
                    if not isinstance(topic, str):
                        raise ConfigError(f"topics.{key}.{name}: expected a topic name, got {topic!r}")
                    target[name] = topic
                continue
            if key not in DEFAULTS[section]:
                known = ", ".join(DEFAULTS[section])
                raise ConfigError(f"unknown key {section}.{key} (known in [{section}]: {known})")
            cfg.sections[section][key] = _coerce(section, key, value, section)


def _apply_env(cfg: Config, env: Mapping[str, str]) -> None:
    for name, (section, key) in FIXED_ENV.items():
        if name in env and env[name] != "":
            if section == "kafka":
                cfg.kafka[key] = env[name]
            else:
                cfg.sections[section][key] = _coerce(section, key, env[name], f"${name}")
    for name, value in env.items():
        if not name.startswith("CALIPER_") or name in FIXED_ENV or name == CONFIG_ENV:
            continue
        rest = name[len("CALIPER_") :]
        for section in PASSTHROUGH:
            prefix = section.upper() + "_"
            if rest.startswith(prefix) and len(rest) > len(prefix):
                getattr(cfg, section)[rest[len(prefix) :].lower().replace("_", ".")] = value
                break
        else:
            for section in DEFAULTS:
                prefix = section.upper() + "_"
                if rest.startswith(prefix):
                    key = rest[len(prefix) :].lower()
                    if key not in DEFAULTS[section]:
                        raise ConfigError(f"${name}: unknown key {section}.{key}")
                    cfg.sections[section][key] = _coerce(section, key, value, f"${name}")
                    break


def _check_topic(label: str, topic: str) -> None:
    if not _TOPIC_RE.match(topic) or topic in (".", ".."):
        raise ConfigError(f"{label}: {topic!r} is not a valid Kafka topic name (1-249 of [A-Za-z0-9._-])")


def validate(cfg: Config) -> None:
    """Fail fast, naming the bad key, rather than at the first event that needs it."""
    t = cfg.topics
    for key in ("input", "dlq", "unmapped"):
        _check_topic(f"topics.{key}", t[key])
    template = t["output_template"]
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"topics.output_template: {template!r} is not a valid template ({exc})") from None
    if fields != ["profile"]:
        raise ConfigError(
            f"topics.output_template: {template!r} must contain {{profile}} exactly once and no other field"
        )
    for profile in PROFILES:
        _check_topic("topics.output_template", template.format(profile=profile))
    for profile, topic in cfg.profile_topics.items():
        if profile not in PROFILES:
            raise ConfigError(f"topics.profiles.{profile}: unknown profile (known: {', '.join(PROFILES)})")
        _check_topic(f"topics.profiles.{profile}", topic)
    for event, topic in cfg.event_topics.items():
        _check_topic(f"topics.events.{event}", topic)
    p = cfg.processor
    if p["unmapped"] not in ("topic", "skip"):
        raise ConfigError(f'processor.unmapped: expected "topic" or "skip", got {p["unmapped"]!r}')
    if not p["group_id"]:
        raise ConfigError("processor.group_id: must not be empty")
    if p["guarantee"] not in GUARANTEES:
        expected = " or ".join(repr(g) for g in GUARANTEES)
        raise ConfigError(f"processor.guarantee: expected {expected}, got {p['guarantee']!r}")
    for key in (
        "max_record_bytes",
        "batch_size",
        "max_in_flight",
        "commit_every",
        "unmapped_names_max",
        "transaction_max_inputs",
    ):
        if p[key] < 1:
            raise ConfigError(f"processor.{key}: must be at least 1, got {p[key]}")
    for key in (
        "consume_timeout_s",
        "commit_interval_s",
        "shutdown_timeout_s",
        "statistics_interval_s",
        "transaction_interval_s",
    ):
        if p[key] <= 0:
            raise ConfigError(f"processor.{key}: must be positive, got {p[key]}")
    if not 0 <= cfg.http["port"] <= 65535:
        raise ConfigError(f"http.port: {cfg.http['port']} is not a port (0-65535; 0 picks a free one)")
    if cfg.http["health_stall_s"] <= 0:
        raise ConfigError("http.health_stall_s: must be positive")
    _validate_http_security(cfg.http)
    if cfg.logging["format"] not in ("auto", "json", "text"):
        raise ConfigError(f"logging.format: expected auto, json or text, got {cfg.logging['format']!r}")
    if str(cfg.logging["level"]).upper() not in _LEVELS:
        raise ConfigError(
            f"logging.level: expected one of {', '.join(_LEVELS)}, got {cfg.logging['level']!r}"
        )
    for section, keys in RESERVED.items():
        for key in keys:
            if key in getattr(cfg, section):
                raise ConfigError(
                    f"{section}.{key}: set by the worker itself (offsets are committed only after delivery); "
                    "use processor.group_id for the group"
                    if key == "group.id"
                    else f"{section}.{key}: set by the worker from processor.transactional_id (exactly-once)"
                    if key == "transactional.id"
                    else f"{section}.{key}: set by the worker itself and cannot be overridden"
                )
    if not cfg.bootstrap_servers():
        raise ConfigError("kafka.bootstrap.servers: must not be empty (or set KAFKA_BOOTSTRAP_SERVERS)")
    # mapping set
    if p["mappings"] not in MAPPING_MODES:
        expected = " or ".join(repr(m) for m in MAPPING_MODES)
        raise ConfigError(f"processor.mappings: expected {expected}, got {p['mappings']!r}")
    _validate_ingest(cfg.ingest)
    _validate_formats(cfg)
    _validate_privacy(cfg)


def _validate_privacy(cfg: Config) -> None:
    """Build the policy once, so a bad rule or a missing key stops the worker before it consumes."""
    from mappings.privacy import PolicyError, build_policy

    try:
        build_policy(cfg.privacy_settings())
    except PolicyError as exc:
        raise ConfigError(str(exc)) from None


def _validate_formats(cfg: Config) -> None:
    """topics.format, [topics.formats] and [schema_registry]: Avro output needs a registry."""
    if cfg.topics["format"] not in FORMATS:
        raise ConfigError(f'topics.format: expected "json" or "avro", got {cfg.topics["format"]!r}')
    for profile, fmt in cfg.profile_formats.items():
        if profile not in PROFILES:
            raise ConfigError(f"topics.formats.{profile}: unknown profile (known: {', '.join(PROFILES)})")
        if fmt not in FORMATS:
            raise ConfigError(f'topics.formats.{profile}: expected "json" or "avro", got {fmt!r}')
    by_topic: dict[str, str] = {}
    for profile in PROFILES:
        topic, fmt = cfg.output_topic(profile), cfg.output_format(profile)
        if by_topic.setdefault(topic, fmt) != fmt:
            raise ConfigError(f"topics.formats: topic {topic} would carry both JSON and Avro records")
    sr = cfg.sections["schema_registry"]
    if sr["subject_name_strategy"] not in ("topic", "record"):
        raise ConfigError(
            f'schema_registry.subject_name_strategy: expected "topic" or "record", '
            f"got {sr['subject_name_strategy']!r}"
        )
    for key in ("timeout_s", "retry_backoff_max_s"):
        if sr[key] <= 0:
            raise ConfigError(f"schema_registry.{key}: must be positive, got {sr[key]}")
    if sr["startup_timeout_s"] < 0:
        raise ConfigError("schema_registry.startup_timeout_s: must be 0 (retry forever) or positive")
    url = sr["url"]
    if url and not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"schema_registry.url: expected http(s)://host[:port][/path], got {url!r}")
    if any(f == "avro" for f in by_topic.values()) and not url:
        raise ConfigError(
            "schema_registry.url: Avro output (topics.format) needs a Schema Registry; "
            "set CALIPER_SCHEMA_REGISTRY_URL"
        )


def _validate_http_security(h: dict[str, Any]) -> None:
    """TLS and basic auth of the worker's HTTP port; whether the files load is checked at start."""
    if bool(h["tls_cert"]) != bool(h["tls_key"]):
        raise ConfigError("http.tls_cert and http.tls_key: set both (TLS) or neither (plain HTTP)")
    if h["tls_client_ca"] and not h["tls_cert"]:
        raise ConfigError(
            "http.tls_client_ca: client certificates need TLS; set http.tls_cert and http.tls_key"
        )
    user, password = h["auth_username"], h["auth_password"]
    if user and not password:
        raise ConfigError(
            "http.auth_username is set but http.auth_password is not "
            "(set CALIPER_HTTP_AUTH_PASSWORD or CALIPER_HTTP_AUTH_PASSWORD_FILE)"
        )
    if password and not user:
        raise ConfigError("http.auth_password is set but http.auth_username is not")
    if ":" in user:  # RFC 7617: the user-id ends at the first colon
        raise ConfigError("http.auth_username: must not contain ':'")


def _validate_ingest(i: dict[str, Any]) -> None:
    """The [ingest] section (read only by `caliper-processor ingest`, checked for every command)."""
    if not 0 <= i["port"] <= 65535:
        raise ConfigError(f"ingest.port: {i['port']} is not a port (0-65535; 0 picks a free one)")
    for key in ("path",):
        if not i[key].startswith("/") or i[key] in ("/metrics", "/healthz", "/readyz"):
            raise ConfigError(
                f"ingest.{key}: {i[key]!r} must start with / and not be /metrics, /healthz, /readyz"
            )
    if i["require_signature"] and not i["jwks_url"].startswith(("https://", "http://")):
        raise ConfigError(f"ingest.jwks_url: {i['jwks_url']!r} is not an http(s) URL")
    # Canvas gives up after 15 s: an answer after that is a failure whatever it says.
    if not 0 < i["ack_timeout_s"] < 15:
        raise ConfigError(
            "ingest.ack_timeout_s: must be above 0 and below 15 (Canvas waits 15 s), "
            f"got {i['ack_timeout_s']}"
        )
    for key in ("jwks_cache_s", "jwks_refresh_min_interval_s", "jwks_timeout_s", "shutdown_timeout_s"):
        if i[key] <= 0:
            raise ConfigError(f"ingest.{key}: must be positive, got {i[key]}")
    if not 0 <= i["leeway_s"] <= 600:
        raise ConfigError(f"ingest.leeway_s: clock-skew allowance must be 0-600 s, got {i['leeway_s']}")
    if i["max_body_bytes"] < 1024:
        raise ConfigError(f"ingest.max_body_bytes: must be at least 1024, got {i['max_body_bytes']}")
    if bool(i["tls_cert"]) != bool(i["tls_key"]):
        raise ConfigError("ingest.tls_cert and ingest.tls_key: set both (TLS) or neither (plain HTTP)")


def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then the file (`path`, else $CALIPER_CONFIG when set), then the environment."""
    import os

    env = resolve_files(os.environ if env is None else env, ConfigError)  # CALIPER_<SECRET>_FILE
    cfg = Config(sections=copy.deepcopy(DEFAULTS), kafka=dict(DEFAULT_KAFKA))
    path = path or env.get(CONFIG_ENV) or None
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {p}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
        _apply_file(cfg, data)
        cfg.source = str(p)
    _apply_env(cfg, env)
    validate(cfg)
    return cfg


def _toml_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    s = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def to_toml(data: Mapping[str, Any]) -> str:
    """A small TOML writer for the effective config (two levels of tables are all we have)."""
    lines: list[str] = []

    def table(name: str, body: Mapping[str, Any]) -> None:
        lines.append(f"[{name}]")
        subs = []
        for key, value in body.items():
            if isinstance(value, Mapping):
                subs.append((key, value))
            else:
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        lines.append("")
        for key, value in subs:
            table(f"{name}.{_toml_key(key)}", value)

    for name, body in data.items():
        table(name, body)
    return "\n".join(lines)
