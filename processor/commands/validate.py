"""`caliper-processor validate`: check Caliper envelopes (JSON Lines) against the 1.1 rules."""

from __future__ import annotations

import argparse
import gzip
import os
import sys
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from mappings.validator import TOLERATED, validate_envelope

NAME = "validate"
HELP = "check Caliper envelopes (JSON Lines) against the Caliper 1.1 rules"
DESCRIPTION = (
    """\
Check IMS Caliper 1.1 envelopes, one JSON object per line, read from the FILEs in order
(gzip-compressed files are recognised by their content) or from standard input. Avro object
container files (as 'transform --format avro' writes them; recognised by their magic bytes
Obj\\x01, whatever their name) are read too: each record is decoded back to its JSON envelope
and checked the same way, and counts as one line.

Each violation is printed to stdout as

    line N: PATH: MESSAGE

where N counts input lines from 1 across all files and PATH names the field, e.g.
`data[0].action` or `sendTime`. A line that is not JSON prints `line N: envelope: ...`.
Blank lines are skipped. A summary goes to stderr.

Checked: envelope keys (exactly sensor, sendTime, dataVersion, data), sendTime and every
date-time as YYYY-MM-DDTHH:mm:ss.SSSZ, dataVersion v1p1; for each event: @context, urn:uuid id,
required properties, action allowed for the event type, actor/object/generated/target types
(subtypes accepted), no null values, custom properties only inside extensions, Membership roles
and status; entities in data are checked too.

--tolerant accepts the deviations found in Instructure's documented Canvas Caliper examples,
which the default (Instructure-compatible) mapping reproduces:
"""
    + "".join(f"  - {t}\n" for t in TOLERATED)
    + """
Exit status: 0 when every envelope is valid, 1 when any violation or undecodable line was found,
2 when a FILE cannot be read (or is a corrupt or truncated Avro file).
"""
)

_GZIP_MAGIC = b"\x1f\x8b"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="JSON Lines files of Caliper envelopes, plain or gzip (default and '-': standard input)",
    )
    parser.add_argument(
        "--tolerant",
        action="store_true",
        help="accept Instructure's documented deviations from Caliper 1.1 (listed above)",
    )


def _open(name: str) -> BinaryIO:
    raw: BinaryIO = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head == _GZIP_MAGIC or (not head and name.endswith(".gz")):
        return gzip.open(raw, "rb")  # type: ignore[return-value]
    return raw


def _lines(names: list[str]) -> Iterator[bytes | dict]:
    """JSON Lines as bytes; the records of an Avro container file as decoded envelopes."""
    from processor.avro.files import AvroFileError, is_container, read_envelopes

    for name in names:
        stream = _open(name)
        try:
            if is_container(stream):
                try:
                    yield from read_envelopes(stream)
                except AvroFileError as exc:
                    raise _Unreadable(f"{name}: {exc}") from None
            else:
                yield from stream
        finally:
            if name != "-":
                stream.close()


class _Unreadable(Exception):
    """An input that cannot be read on (exit 2)."""


def run(args: argparse.Namespace) -> int:
    names = args.files or ["-"]
    out = sys.stdout
    lines = envelopes = invalid = undecodable = violations = 0
    try:
        for raw in _lines(names):
            lines += 1
            if raw.__class__ is dict:  # a record of an Avro file, already the envelope
                envelope = raw
            elif raw.__class__ is not bytes:  # an Avro file whose schema is not a record
                undecodable += 1
                out.write(f"line {lines}: envelope: an Avro {type(raw).__name__}, not an envelope record\n")
                continue
            elif not raw.strip():  # type: ignore[union-attr]
                continue
            else:
                try:
                    envelope = orjson.loads(raw)  # type: ignore[arg-type]
                except orjson.JSONDecodeError as exc:
                    undecodable += 1
                    out.write(f"line {lines}: envelope: not valid JSON ({exc})\n")
                    continue
            envelopes += 1
            found = validate_envelope(envelope, tolerant=args.tolerant)
            if found:
                invalid += 1
                violations += len(found)
                out.writelines(f"line {lines}: {v.path}: {v.message}\n" for v in found)
    except BrokenPipeError:  # `... | head`: the reader is gone; what it saw were violations
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (OSError, EOFError, gzip.BadGzipFile, _Unreadable) as exc:
        out.flush()
        print(f"validate: cannot read input: {exc}", file=sys.stderr)
        return 2
    out.flush()
    mode = "tolerant" if args.tolerant else "strict"
    print(
        f"validate ({mode}): {envelopes} envelopes, {envelopes - invalid} valid, {invalid} invalid "
        f"({violations} violations), {undecodable} undecodable lines",
        file=sys.stderr,
    )
    return 1 if invalid or undecodable else 0
