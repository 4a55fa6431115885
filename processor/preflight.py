"""Start-up checks, before the worker consumes its first record: can it connect and authenticate, and
may it read and write everything it touches?

Without them a secured cluster fails badly. librdkafka retries a wrong password, an untrusted CA or a
refused client certificate forever (one error callback per attempt, none of them fatal), so the worker
would wait silently; and a missing ACL shows only when a record is produced, after the worker has
consumed inputs it cannot deliver. Here each becomes one error naming the cause, and exit status 2.

The checks only read metadata, with what an ordinary (non-admin) principal may ask: DescribeAcls needs
Describe on the cluster, so instead the broker is asked which operations this client may perform on
each topic (Metadata with topic authorized operations) and on the group (DescribeGroups with authorized
operations). Nothing is written and no group is joined. Operations the worker needs:

  input topic                      Read (Describe comes with it)
  consumer group                   Read
  each output topic, dead letters  Write
  unmapped topic                   Write, unless processor.unmapped = "skip"

A broker that does not answer at all (down, or not up yet) is waited for, as the worker always did.
Topics that do not exist yet only get a warning: deliveries wait until they are created.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AclOperation, AdminClient

from processor.config import Config, ConfigError
from processor.secrets import redact

log = logging.getLogger("processor.preflight")
KAFKA_LOG = logging.getLogger("processor.kafka")

REQUEST_TIMEOUT_S = 10.0
WAIT_LOG_INTERVAL_S = 30.0
# A broker that answers "not now" for less than this is not logged: a new cluster's group
# coordinator says "not available" for a second or so while it loads, then the worker starts.
# A broker that does not answer at all is logged at once, as before.
QUIET_WAIT_S = 3.0
# The broker closing the connection during the handshake this often, with no request ever answered,
# is a security.protocol that does not match the listener (PLAINTEXT against TLS, SSL against SASL_SSL).
HANDSHAKE_CLOSES = 5
# librdkafka properties that decide who the client is and how it connects; the rest of [consumer] and
# [producer] (group.id, linger.ms, ...) means nothing to an admin client.
_IDENTITY_PREFIXES = (
    "bootstrap.servers",
    "security.protocol",
    "sasl.",
    "ssl.",
    "ssl_",
    "enable.ssl.",
    "enable.sasl.",
    "https.",
    "client.id",
    "broker.address.",
    "socket.",
    "resolve.",
    "client.dns.lookup",
)


class PreflightError(ConfigError):
    """The worker cannot work with this cluster as configured (credentials, TLS, permissions)."""


@dataclass(frozen=True, slots=True)
class Need:
    """One permission the worker needs: `operation` on a topic or the group, for `role`."""

    resource: str  # "topic" | "group"
    name: str
    operation: AclOperation
    role: str

    def describe(self) -> str:
        op = self.operation.name.capitalize()
        return f"{op} on {self.resource} '{self.name}' ({self.role})"


def needs(cfg: Config) -> tuple[list[Need], list[Need]]:
    """(what the consumer needs, what the producer needs), in the order an operator reads them."""
    t = cfg.topics
    consumer = [
        Need("topic", t["input"], AclOperation.READ, "input"),
        Need("group", cfg.processor["group_id"], AclOperation.READ, "consumer group"),
    ]
    producer: list[Need] = []
    seen: set[str] = set()
    outputs = [(topic, "output") for topic in cfg.all_output_topics()]
    outputs.append((t["dlq"], "dead letters"))
    if cfg.processor["unmapped"] == "topic":
        outputs.append((t["unmapped"], "unmapped events"))
    for topic, role in outputs:
        if topic not in seen:
            seen.add(topic)
            producer.append(Need("topic", topic, AclOperation.WRITE, role))
    return consumer, producer


def identity(cfg: Config, client: str) -> dict[str, Any]:
    """The connection and authentication settings the consumer or producer uses."""
    conf = dict(cfg.kafka)
    extra = cfg.consumer if client == "consumer" else cfg.producer
    conf.update({k: v for k, v in extra.items() if k.startswith(_IDENTITY_PREFIXES)})
    return conf


def who(conf: dict[str, Any]) -> str:
    """How the broker will know this client, as far as the settings tell."""
    proto = str(conf.get("security.protocol", "plaintext")).upper()
    if proto.startswith("SASL"):
        mech = str(conf.get("sasl.mechanism", conf.get("sasl.mechanisms", "GSSAPI"))).upper()
        user = conf.get("sasl.username")
        return f"SASL {mech} user '{user}'" if user else f"SASL {mech}"
    if proto == "SSL" and (conf.get("ssl.certificate.location") or conf.get("ssl.certificate.pem")):
        return "the client certificate's principal"
    return "this client"


class ConnectionWatch:
    """Error callback and log sink of one admin client: decides when a failure is not worth retrying."""

    def __init__(self, who: str = "this client") -> None:
        self.who = who
        self.fatal: str | None = None
        self.last_error = ""
        self._closes = 0

    # librdkafka's `logger` contract: an object with .log(level, fmt, *args)
    def log(self, level: int, fmt: str, *args: Any) -> None:
        text = fmt % args if args else fmt
        KAFKA_LOG.debug(text)  # the cause is reported once, by us; the raw lines stay at DEBUG
        body = text.split("]: ", 1)[-1]
        if "Disconnected" in body and (
            "in state APIVERSION_QUERY" in body or "SSL connection closed by peer" in body
        ):
            self._closes += 1
            if self._closes >= HANDSHAKE_CLOSES and self.fatal is None:
                self.fatal = (
                    f"the broker closed the connection {self._closes} times during the handshake: "
                    f"{_tail(body)}; does security.protocol match the broker's listener?"
                )

    def error_cb(self, err: KafkaError) -> None:
        text = err.str()
        code = err.code()
        if code != KafkaError._ALL_BROKERS_DOWN:
            self.last_error = _tail(text)
        if self.fatal is not None:
            return
        if code == KafkaError._AUTHENTICATION:
            self.fatal = f"authentication failed ({self.who}): {_tail(text)}"
        elif code == KafkaError._SSL:
            self.fatal = f"TLS handshake failed: {_tail(text)}"
        elif code == KafkaError._TRANSPORT and ("SSL" in text or "certificate" in text):
            # TLS 1.3: a refused client certificate arrives as an alert after the handshake
            self.fatal = (
                "the broker refused the TLS connection (client certificate missing or not trusted?): "
                + _tail(text)
            )
        elif err.fatal():
            self.fatal = f"fatal client error: {_tail(text)}"

    def conf(self) -> dict[str, Any]:
        return {"error_cb": self.error_cb, "logger": self}


def _tail(text: str) -> str:
    """librdkafka prefixes messages with the broker name ('sasl_ssl://host:port/bootstrap: ...')."""
    head, sep, rest = text.partition("/bootstrap: ")
    if not sep:
        head, sep, rest = text.partition(": ")
        if not sep or "://" not in head:
            return text
    return rest


def wait(
    admin: AdminClient,
    futures: Iterable[Any],
    watch: ConnectionWatch,
    timeout: float,
    stopped: Callable[[], bool] = lambda: False,
) -> bool:
    """Serve the admin client's callbacks until the futures are done (True), or stopped (False).

    Raises PreflightError as soon as the connection fails in a way retrying will not fix. AdminClient
    only calls error_cb from poll(), which is why this loop polls rather than blocking on a result.
    """
    futures = list(futures)
    deadline = time.monotonic() + timeout
    while not all(f.done() for f in futures):
        if watch.fatal:
            raise PreflightError(redact(watch.fatal))
        if stopped() or time.monotonic() > deadline:
            return False
        admin.poll(0.05)
    admin.poll(0)
    if watch.fatal:
        raise PreflightError(redact(watch.fatal))
    return True


# Answers that mean "not now" (broker unreachable, coordinator still loading): ask again.
_TRANSIENT = (
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.NOT_COORDINATOR,
)


def _check_side(
    conf: dict[str, Any],
    wanted: list[Need],
    stopped: Callable[[], bool],
    on_wait: Callable[[str, bool], None],
) -> list[Need] | None:
    """The needs the broker says this client lacks; None when stopped before an answer."""
    while True:
        watch = ConnectionWatch(who(conf))
        try:
            admin = AdminClient({**conf, **watch.conf()})
        except KafkaException as exc:
            reason = redact(exc.args[0].str())
            raise PreflightError(f"librdkafka rejected the configuration: {reason}") from None
        topics = list(dict.fromkeys(n.name for n in wanted if n.resource == "topic"))
        groups = list(dict.fromkeys(n.name for n in wanted if n.resource == "group"))
        tf = (
            admin.describe_topics(
                TopicCollection(topics), include_authorized_operations=True, request_timeout=REQUEST_TIMEOUT_S
            )
            if topics
            else {}
        )
        gf = (
            admin.describe_consumer_groups(
                groups, include_authorized_operations=True, request_timeout=REQUEST_TIMEOUT_S
            )
            if groups
            else {}
        )
        if not wait(admin, [*tf.values(), *gf.values()], watch, REQUEST_TIMEOUT_S + 5, stopped):
            if stopped():
                return None
            on_wait(watch.last_error or "no answer", False)
            continue
        try:
            return _missing(wanted, tf, gf)
        except _Retry as retry:
            on_wait(watch.last_error or retry.reason, True)
            if stopped():
                return None
            time.sleep(1.0)


class _Retry(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _missing(wanted: list[Need], tf: dict, gf: dict) -> list[Need]:
    missing: list[Need] = []
    for need in wanted:
        future = (tf if need.resource == "topic" else gf)[need.name]
        try:
            result = future.result()
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() in _TRANSIENT:
                raise _Retry(err.str()) from None
            if err.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED):
                missing.append(need)
            elif err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                log.warning(
                    "topic does not exist (yet); deliveries to it wait until it is created",
                    extra={"fields": {"topic": need.name, "role": need.role}},
                )
            else:
                raise PreflightError(f"cannot describe {need.resource} '{need.name}': {err.str()}") from None
            continue
        ops = getattr(result, "authorized_operations", None)
        if ops is not None and need.operation not in ops:
            missing.append(need)
    return missing


def check(
    cfg: Config,
    *,
    stopped: Callable[[], bool] = lambda: False,
    on_poll: Callable[[], None] = lambda: None,
) -> bool:
    """Raise PreflightError naming every problem; True when all is well, False when stopped first."""
    consumer_needs, producer_needs = needs(cfg)
    cconf, pconf = identity(cfg, "consumer"), identity(cfg, "producer")
    last_log = [0.0]
    first_wait: list[float | None] = [None]

    def on_wait(reason: str, answered: bool = False) -> None:
        on_poll()
        now = time.monotonic()
        if first_wait[0] is None:
            first_wait[0] = now
        if answered and now - first_wait[0] < QUIET_WAIT_S:  # a coordinator still loading: not news
            return
        if now - last_log[0] >= WAIT_LOG_INTERVAL_S:
            last_log[0] = now
            log.warning(
                "no broker answers yet; waiting before consuming",
                extra={"fields": {"bootstrap": str(cconf.get("bootstrap.servers")), "error": redact(reason)}},
            )

    sides = (
        [(cconf, consumer_needs + producer_needs)]
        if cconf == pconf
        else [
            (cconf, consumer_needs),
            (pconf, producer_needs),
        ]
    )
    problems: list[str] = []
    for conf, wanted in sides:
        missing = _check_side(conf, wanted, stopped, on_wait)
        if missing is None:
            return False
        if missing:
            problems.append(f"{who(conf)} lacks " + ", ".join(n.describe() for n in missing))
    if problems:
        raise PreflightError(
            "not authorized: " + "; ".join(problems) + " (the ACLs to grant: docs/security.md)"
        )
    log.info("permissions checked", extra={"fields": {"topics": len(producer_needs) + 1}})
    return True
