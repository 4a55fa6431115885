"""`caliper-processor topics create`: the input, profile, dead-letter and unmapped topics."""

from __future__ import annotations

import argparse
import sys

NAME = "topics"
HELP = "create the worker's Kafka topics (idempotent)"
DESCRIPTION = """\
topics create: create the input topic, the 10 profile output topics (plus any per-profile or
per-event overrides), the dead-letter and the unmapped topic, as named by the config file and
environment (see `caliper-processor run --help`). Topics that already exist are reported and
left unchanged. Exit status 1 when a topic could not be created (e.g. no Create permission),
2 when the settings are wrong or the cluster refuses the credentials or TLS settings.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = sub.add_parser(
        "create",
        help="create missing topics",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("--partitions", type=int, default=3, metavar="N", help="partitions per topic (3)")
    create.add_argument(
        "--replication-factor",
        type=int,
        default=-1,
        metavar="R",
        help="replicas per partition (default: the broker's default.replication.factor)",
    )
    create.add_argument(
        "--config", metavar="FILE", help="TOML config file (default: $CALIPER_CONFIG, else built-ins)"
    )


def run(args: argparse.Namespace) -> int:
    from processor.config import ConfigError, load
    from processor.topics import create_topics

    if args.partitions < 1:
        print("caliper-processor: --partitions must be at least 1", file=sys.stderr)
        return 2
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"caliper-processor: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        results = create_topics(cfg, partitions=args.partitions, replication_factor=args.replication_factor)
    except ConfigError as exc:  # authentication or TLS refused
        print(f"caliper-processor: cannot connect: {exc}", file=sys.stderr)
        return 2
    for r in results:
        print(f"{r.status:<8} {r.topic}" + (f"  ({r.detail})" if r.detail else ""))
    return 1 if any(r.status == "error" for r in results) else 0
