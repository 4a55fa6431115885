"""`caliper-processor mappings`: the Canvas events this installation maps, and how."""

from __future__ import annotations

import argparse
import sys

NAME = "mappings"
HELP = "list every Canvas event mapped, with its Caliper type, action and profile"
DESCRIPTION = """\
List the registry: built-in mappings plus those installed by plug-ins (entry-point group
'caliper_processor.mappings'). The profile names the output topic (caliper.<profile> by
default). 'strict type' is the type emitted with --strict where it differs. A mapping
that replaces another is marked with '*' and its source is shown.

examples:
  caliper-processor mappings
  caliper-processor mappings --mappings extended      # the 32 plus the 50 others: 82
  caliper-processor mappings --json | jq -r '.[] | select(.profile == "reading") | .event_name'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from processor.mapping_mode import add_option

    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    add_option(parser)


def run(args: argparse.Namespace) -> int:
    from mappings.registry import RegistryError, default_registry
    from processor.mapping_mode import resolve

    try:
        specs = default_registry(resolve(args)).specs()
    except RegistryError as exc:
        sys.stderr.write(f"caliper-processor mappings: {exc}\n")
        return 1
    if args.json:
        import orjson

        rows = [
            {
                "event_name": s.event_name,
                "caliper_type": s.caliper_type,
                "action": s.action,
                "profile": s.profile,
                "strict_type": s.strict_type,
                "strict_profile": s.strict_profile,
                "source": s.source,
                "overrides": s.overrides,
                "object_type": s.object_type,
                "mode": s.mode,
                "why": s.why or "Instructure's documented example",
            }
            for s in specs
        ]
        sys.stdout.buffer.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    header = ("Canvas event", "Caliper type", "action", "profile", "strict type")
    rows_text = [
        (
            s.event_name + (" *" if s.overrides else ""),
            s.caliper_type,
            s.action,
            s.profile,
            s.strict_type if s.strict_type != s.caliper_type else "",
        )
        for s in specs
    ]
    widths = [max(len(r[i]) for r in [header, *rows_text]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows_text]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    overrides = [s for s in specs if s.overrides]
    if overrides:
        lines.append("")
        lines.extend(f"* {s.event_name}: {s.source} replaces {s.overrides}" for s in overrides)
    lines.append(f"\n{len(specs)} Canvas events mapped.")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
