"""The `caliper-processor` command line: one sub-command per module in `processor.commands`.

Each command module exposes `NAME`, `HELP`, `DESCRIPTION`, `add_arguments(parser)` and
`run(args) -> int`; keeping them apart keeps start-up cheap (a command imports only what it needs).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from processor import __version__

# Order in which commands appear in --help.
COMMAND_MODULES = ("run", "transform", "validate", "mappings", "topics", "diff", "ingest", "schema")


def _load_commands() -> list:
    commands = []
    for name in COMMAND_MODULES:
        try:
            commands.append(importlib.import_module(f"processor.commands.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"processor.commands.{name}":
                raise
    return commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caliper-processor",
        description="Turn Canvas LMS live events into IMS Caliper 1.1 envelopes, from files or Kafka.",
        epilog="Run 'caliper-processor COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"caliper-processor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _load_commands():
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
