"""`caliper-processor ingest`: the HTTPS receiver for Canvas Data Services deliveries."""

from __future__ import annotations

import argparse
import sys

NAME = "ingest"
HELP = (
    "receive Canvas Data Services HTTPS deliveries (plain or signed JWT) and produce them to the input topic"
)
DESCRIPTION = """\
Receive Canvas live events as Canvas Data Services delivers them over HTTPS (one POST per event,
the body the event JSON or, with "Sign Payload", a JWT whose claims are the event) and produce
each to the input topic. The answer is 200 only after Kafka acknowledged the record (idempotent
producer, acks=all); every other answer is retried by Canvas (up to 3 times over 10-20 minutes):

  200  accepted: Kafka holds the record
  400  not an event (not JSON, not a JWS, no metadata.event_name)
  401  signature required but the body is plain JSON; alg other than RS256; kid unknown even after
       refreshing the JWKS; bad signature; expired (beyond ingest.leeway_s); wrong issuer; missing
       or wrong shared secret
  413  body above ingest.max_body_bytes
  503  Kafka unreachable, or no acknowledgement within ingest.ack_timeout_s (below Canvas's 15 s);
       JWKS unreachable; shutting down

Signed bodies are verified with RS256 only (never the token's alg) against the JWKS at
ingest.jwks_url (Instructure's production JWKS by default), cached and refreshed when a token
names an unknown kid, at most once per ingest.jwks_refresh_min_interval_s. The produced value is
the verified claims without the JWT's registered claims (iss, exp, iat, ...): the Canvas event as
the worker reads it; unsigned bodies are produced unchanged. The record key is the one the worker
gives the event's envelope (Person actor id, else course/group id). Headers listed in
ingest.forward_headers (x-request-id, user-agent, content-type) become Kafka headers, with
caliper.ingest.signed and caliper.ingest.kid.

Settings: the [ingest] section of --config FILE (see config/caliper-processor.toml), then the
environment: CALIPER_INGEST_<KEY> (PORT, PATH, JWKS_URL, ISSUER, REQUIRE_SIGNATURE, SECRET,
SECRET_FILE, MAX_BODY_BYTES, ACK_TIMEOUT_S, TLS_CERT, TLS_KEY, ...), KAFKA_BOOTSTRAP_SERVERS,
CALIPER_INPUT_TOPIC, CALIPER_KAFKA_<PROP> / CALIPER_PRODUCER_<PROP> for librdkafka.
Shared secret (optional; a Canvas subscription is configured with a URL only): put it in the URL,
https://host/canvas/live-events?secret=..., or send it in the X-Caliper-Secret header.

The same port serves GET /healthz (the producer is alive), /readyz (a broker reachable and, when
signatures are required, the JWKS loaded; 503 while shutting down) and /metrics (Prometheus);
expose only the events path through an ingress.

Exit status: 0 after SIGTERM/SIGINT (stop accepting, finish the requests in flight, flush the
producer, within ingest.shutdown_timeout_s); 2 on a configuration error or when the port cannot
be bound; 130 on a second signal.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="TOML config file (default: $CALIPER_CONFIG, else built-ins)"
    )
    parser.add_argument(
        "--port", type=int, metavar="N", help="listen on port N (ingest.port; 0 = any free port)"
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
    from processor import logs
    from processor.config import ConfigError, load, to_toml, validate

    try:
        cfg = load(args.config)
        if args.port is not None:
            cfg.ingest["port"] = args.port
            validate(cfg)
    except ConfigError as exc:
        print(f"caliper-processor: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.log_format:
        cfg.logging["format"] = args.log_format
    if args.log_level:
        cfg.logging["level"] = args.log_level
    if args.print_config:
        sys.stdout.write(f"# effective configuration (source: {cfg.source} + environment)\n")
        sys.stdout.write(to_toml(cfg.as_dict(mask=True)))
        return 0
    logs.setup(cfg.logging["format"], cfg.logging["level"])
    from processor.ingest import server

    try:
        return server.run(cfg)
    except ConfigError as exc:
        print(f"caliper-processor: configuration error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the port is taken, a TLS file is missing
        print(f"caliper-processor: cannot start: {exc}", file=sys.stderr)
        return 2
