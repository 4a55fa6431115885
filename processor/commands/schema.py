"""`caliper-processor schema`: the Avro schema of the envelopes (for a registry, Connect or avro-tools)."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "schema"
HELP = "print the Avro schema of the Caliper envelopes"
DESCRIPTION = """\
Print the Avro schema (JSON) that Avro output (topics.format = "avro") registers under each output
topic's subject: a generic entity record with every Caliper property our mappings emit, typed and
optional; `extensions` and any property the schema does not type kept as JSON text.

examples:
  caliper-processor schema > caliper-envelope.avsc
  caliper-processor schema --compact     # one line, the text registered with the Schema Registry
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compact", action="store_true", help="one line, as registered")


def run(args: argparse.Namespace) -> int:
    from processor.avro.schema import load_schema, schema_text

    sys.stdout.write((schema_text() if args.compact else json.dumps(load_schema(), indent=2)) + "\n")
    return 0
