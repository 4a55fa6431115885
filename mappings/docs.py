"""docs/mappings.md, generated from the registry: `make docs-mappings` writes it, a test checks
it is current. One row per Canvas event of the extended set (which holds the instructure set),
so the table is the one place that says what each event becomes and why.

    python -m mappings.docs            # the Markdown on stdout
    python -m mappings.docs --check docs/mappings.md   # exit 1 when the file is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from mappings.registry import MappingSpec, builtin_registry

HEADER = """\
# Canvas live events and their Caliper 1.1 form

Generated from the mapping registry by `make docs-mappings` (do not edit by hand; a test fails
when this file is stale).

`processor.mappings` (`CALIPER_PROCESSOR_MAPPINGS`, `--mappings` on `run`, `transform` and
`mappings`) chooses the set:

- `instructure` (default): the {instructure} events of Instructure's Caliper feed, each output
  exactly as Instructure documents it (`--strict` gives the 1.1-conformant form where the
  documented one deviates: the strict type below).
- `extended`: those {instructure} unchanged, plus the {extended} Canvas events Instructure never
  maps ({total} in all). Every extended form passes the Caliper 1.1 rules without tolerance,
  with or without `--strict`: an event type that needs a Person actor is emitted as a generic
  `Event` when the actor is the Canvas application (job-generated events), and its topic is
  then `caliper.basic`. In this mode, body fields that no mapping names are kept in the object's
  `extensions["com.instructure.canvas"]` under their Canvas names instead of being dropped.

All events share the envelope, actor, edApp, group, membership, session and extension rules of
MAPPING-RULES.md; object ids are `urn:instructure:canvas:<kind>:<id>`. The profile topic is the
default `caliper.<profile>` (`topics.output_template`, `[topics.profiles]` and `[topics.events]`
may rename it).

| Canvas event | Caliper type | action | object type | profile topic | mode | where the rule comes from |
|-|-|-|-|-|-|-|
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type(spec: MappingSpec) -> str:
    if spec.strict_type != spec.caliper_type:
        return f"{spec.caliper_type} (strict: {spec.strict_type})"
    return spec.caliper_type


def _topic(spec: MappingSpec) -> str:
    topic = f"caliper.{spec.profile}"
    if spec.strict_profile != spec.profile:
        topic += f" (strict: caliper.{spec.strict_profile})"
    return topic


def _source(spec: MappingSpec) -> str:
    if spec.why:
        return spec.why
    source = f"Instructure's documented example (`caliper/{spec.event_name}.json`)"
    if spec.strict is not None or spec.strict_type != spec.caliper_type:
        source += "; strict form: MAPPING-RULES decision 9"
    return source


def render() -> str:
    specs = builtin_registry("extended").specs()
    counts = {mode: sum(1 for s in specs if s.mode == mode) for mode in ("instructure", "extended")}
    rows = [
        "| "
        + " | ".join(
            _cell(cell)
            for cell in (
                f"`{spec.event_name}`",
                _type(spec),
                spec.action,
                spec.object_type,
                _topic(spec),
                "instructure, extended" if spec.mode == "instructure" else spec.mode,
                _source(spec),
            )
        )
        + " |"
        for spec in specs
    ]
    header = HEADER.format(total=len(specs), **counts)
    return header + "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv[:1] == ["--check"] and len(argv) == 2:
        path = Path(argv[1])
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            sys.stderr.write(f"{path} is stale: run `make docs-mappings`\n")
            return 1
        return 0
    if argv:
        sys.stderr.write("usage: python -m mappings.docs [--check FILE]\n")
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
