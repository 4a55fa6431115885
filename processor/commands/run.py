"""`caliper-processor run`: the long-lived worker (consume Canvas events, produce Caliper envelopes)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processor.config import Config

NAME = "run"
HELP = "run the worker: Canvas live events from Kafka -> Caliper envelopes on Kafka"
DESCRIPTION = """\
Consume Canvas live events from the input topic, map each to a Caliper 1.1 envelope and produce it
to the topic of its metric profile, keyed by the actor (Person) id, else the course/group id.
Delivery (--guarantee, processor.guarantee): at-least-once (default) commits an input's offset only
after every output of it is acknowledged, so a crash re-sends some outputs (same event ids) and
loses none; exactly-once writes the outputs and the inputs' offsets in one Kafka transaction, so
consumers reading with isolation.level=read_committed see each output once (docs/operations.md).
Inputs that cannot be mapped go to the dead-letter topic with __connect.errors.* headers; events
without a mapping go to the unmapped topic (or are skipped, processor.unmapped = "skip").

Settings: built-in defaults < --config FILE (TOML, see config/caliper-processor.toml; or
$CALIPER_CONFIG) < environment. Environment variables:
  KAFKA_BOOTSTRAP_SERVERS          brokers (kafka.bootstrap.servers)
  CALIPER_INPUT_TOPIC              input topic (canvas.live-events)
  CALIPER_OUTPUT_TOPIC_TEMPLATE    output topic per profile (caliper.{profile})
  CALIPER_DLQ_TOPIC                dead letters (canvas.live-events.dlq)
  CALIPER_UNMAPPED_TOPIC           events without a mapping (canvas.live-events.unmapped)
  CALIPER_GROUP_ID                 consumer group (caliper-processor)
  CALIPER_METRICS_PORT             HTTP port of /metrics /healthz /readyz (9464; 0 = any free port)
  CALIPER_PROCESSOR_MAPPINGS       mapping set: instructure (default) or extended (--mappings)
  CALIPER_PROCESSOR_GUARANTEE      at-least-once (default) or exactly-once (--guarantee)
  CALIPER_<SECTION>_<KEY>          any key of [topics] [processor] [http] [logging],
                                   e.g. CALIPER_PROCESSOR_MAX_IN_FLIGHT=2000
  CALIPER_KAFKA_<PROP>             any librdkafka property for both clients, "_" read as ".",
  CALIPER_CONSUMER_<PROP>          e.g. CALIPER_KAFKA_SECURITY_PROTOCOL=SASL_SSL,
  CALIPER_PRODUCER_<PROP>          CALIPER_KAFKA_SASL_PASSWORD=... (consumer/producer only)

Exit status: 0 after SIGTERM/SIGINT (in-flight outputs delivered and committed within
processor.shutdown_timeout_s) or when drained (--exit-when-drained); 1 on a permanent produce
failure (nothing is committed past the failed input, so a restart retries it; exactly-once: also
when fenced by another worker with the same transactional.id) or when outputs were
still undelivered at shutdown; 2 on a configuration error; 130 on a second SIGTERM/SIGINT (exit at
once; inputs not yet committed are read again on restart).

HTTP (http.host, http.port): /metrics (Prometheus), /healthz (the loop is polling and, with work
pending, made progress within http.health_stall_s), /readyz (partitions assigned and a broker
reachable); every other path is 404, other methods than GET and HEAD 405. Optional, see
docs/security.md ("The HTTP port"):
  CALIPER_HTTP_HOST                bind address (0.0.0.0; 127.0.0.1 keeps it on the machine)
  CALIPER_HTTP_TLS_CERT            PEM certificate (chain) and key: HTTPS on all three endpoints
  CALIPER_HTTP_TLS_KEY
  CALIPER_HTTP_TLS_CLIENT_CA       PEM CA: /metrics answers only clients with a certificate it signed
  CALIPER_HTTP_AUTH_USERNAME       basic auth on /metrics (401 without it); /healthz and /readyz
  CALIPER_HTTP_AUTH_PASSWORD       stay open for probes; the password also from a file:
                                   CALIPER_HTTP_AUTH_PASSWORD_FILE
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="TOML config file (default: $CALIPER_CONFIG, else built-ins)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="emit the Caliper 1.1-conformant form where Instructure's documented output deviates",
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        default=None,
        help="validate every envelope (tolerant by default, strict with --strict); failures are dead letters",
    )
    from processor.mapping_mode import add_option

    add_option(parser)
    parser.add_argument(
        "--guarantee",
        choices=("at-least-once", "exactly-once"),
        help="delivery guarantee (default: processor.guarantee, at-least-once); exactly-once needs "
        "a transactional.id per worker (processor.transactional_id, else derived)",
    )
    parser.add_argument(
        "--exit-when-drained",
        action="store_true",
        help="exit 0 once every assigned partition is read to its high watermark (as of assignment), "
        "delivered and committed",
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the effective config (secrets masked) and exit"
    )
    parser.add_argument(
        "--log-format", choices=("auto", "json", "text"), help="log format (default: logging.format)"
    )
    parser.add_argument(
        "--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), type=str.upper, help="log level"
    )


def run(args: argparse.Namespace) -> int:
    from processor import logs, secrets
    from processor.config import ConfigError, load, to_toml

    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"caliper-processor: configuration error: {exc}", file=sys.stderr)
        return 2
    # From here on, no log line, exception text or dead-letter header carries a secret's value.
    secrets.remember(secrets.secret_values(cfg.secret_items()))
    if args.strict:
        cfg.processor["strict"] = True
    if args.validate:
        cfg.processor["validate"] = True
    if args.mappings:
        cfg.processor["mappings"] = args.mappings
    if args.guarantee:
        cfg.processor["guarantee"] = args.guarantee
    if args.log_format:
        cfg.logging["format"] = args.log_format
    if args.log_level:
        cfg.logging["level"] = args.log_level
    if args.print_config:
        sys.stdout.write(f"# effective configuration (source: {cfg.source} + environment)\n")
        sys.stdout.write(to_toml(cfg.as_dict(mask=True)))
        return 0
    logs.setup(cfg.logging["format"], cfg.logging["level"])
    secrets.protect_logging()
    return serve(cfg, exit_when_drained=args.exit_when_drained)


def serve(cfg: Config, *, exit_when_drained: bool = False) -> int:
    """Start the HTTP server and the worker; SIGTERM/SIGINT stop it gracefully."""
    from processor import preflight
    from processor.config import ConfigError
    from processor.health import HttpServer
    from processor.secrets import redact
    from processor.worker import Worker

    log = logging.getLogger("processor.run")
    try:
        worker = Worker(cfg, exit_when_drained=exit_when_drained)
        http = HttpServer.from_settings(cfg.http, worker.metrics.render, worker.health).start()
    except (ConfigError, OSError) as exc:
        print(f"caliper-processor: cannot start: {redact(str(exc))}", file=sys.stderr)
        return 2
    log.info(
        "metrics and health served",
        extra={
            "fields": {
                "metrics": f"{http.url}/metrics",
                "port": http.port,
                "tls": http.tls,
                "basic_auth": http.auth,
                "pid": os.getpid(),
            }
        },
    )
    if http.auth and not http.tls:
        log.warning("basic auth on /metrics without TLS: the password crosses the network in clear")

    signals_seen: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        signals_seen.append(signum)
        if len(signals_seen) > 1:  # a second signal: leave now; uncommitted inputs are read again later
            log.warning("second signal; exiting without waiting for deliveries")
            os._exit(130)
        log.info("stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
        worker.stop()

    def waiting() -> None:  # /healthz stays green while the brokers are waited for
        worker.health.last_poll = time.monotonic()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        # Credentials, TLS and ACLs, before the first record is consumed (processor/preflight.py).
        if not preflight.check(cfg, stopped=lambda: bool(signals_seen), on_poll=waiting):
            return 0  # stopped by a signal while waiting for the brokers
        return worker.run()
    except preflight.PreflightError as exc:
        print(f"caliper-processor: cannot start: {redact(str(exc))}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"caliper-processor: configuration error: {redact(str(exc))}", file=sys.stderr)
        return 2
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        http.stop()
