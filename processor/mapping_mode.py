"""`--mappings instructure|extended`, shared by `run`, `transform` and `mappings`.

`run` reads the mode from its config (file, then CALIPER_PROCESSOR_MAPPINGS, then this option);
the file-less commands take the option, else CALIPER_PROCESSOR_MAPPINGS, else "instructure".
"""

from __future__ import annotations

import argparse
import os
import sys

from mappings.registry import DEFAULT_MODE, MODES

ENV = "CALIPER_PROCESSOR_MAPPINGS"
HELP = (
    "mapping set: 'instructure' = the 32 events of Instructure's Caliper feed, output exactly as "
    "documented; 'extended' = those plus a Caliper 1.1 form of the 50 other Canvas events, and "
    "body fields no mapping names kept in the object's extensions (default: processor.mappings, "
    f"${ENV}, else {DEFAULT_MODE})"
)


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mappings", choices=MODES, default=None, help=HELP)


def resolve(args: argparse.Namespace) -> str:
    """The mode for a command without a config file; a bad environment value is a usage error."""
    if args.mappings:
        return args.mappings
    value = os.environ.get(ENV, "").strip()
    if not value:
        return DEFAULT_MODE
    if value not in MODES:
        sys.stderr.write(f"caliper-processor: ${ENV}: expected {' or '.join(MODES)}, got {value!r}\n")
        raise SystemExit(2)
    return value
