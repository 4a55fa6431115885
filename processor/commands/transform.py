"""`caliper-processor transform`: Canvas live events (JSON Lines) -> Caliper envelopes, no Kafka."""

from __future__ import annotations

import argparse
import gzip
import os
import stat
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

NAME = "transform"
HELP = "map Canvas live events (JSON Lines) to Caliper envelopes on stdout"
DESCRIPTION = """\
Read Canvas live events, one JSON object per line, from FILEs (or stdin when none is
given or FILE is '-'), and write one Caliper 1.1 envelope per mapped event to stdout as
one JSON line, in input order. Gzipped files are read as such (by their magic bytes).

An input that does not become an envelope writes no stdout line; it writes one JSON
line to stderr instead:

  {"line": N, "stage": STAGE, "reason": "..."}

N counts input lines from 1 across all files (blank lines count but are skipped).
STAGE is one of:
  decode    the line is not a JSON object
  unwrap    no metadata/attributes wrapper, or no event_name
  unmapped  a well-formed event whose event_name has no mapping (see 'mappings')
  map       the mapping rejected a field (the reason names it, e.g. body.due_at)
  validate  with --validate: the envelope breaks the Caliper 1.1 rules

--format avro -o FILE writes the envelopes as one Avro object container file instead, for
batch loads into a warehouse (BigQuery, Snowflake, Spark): the schema of 'caliper-processor
schema' in its header, one record per envelope, blocks compressed with --codec (deflate by
default; zstandard and snappy when their libraries are installed, null for none). Rejected
inputs are reported on stderr exactly as above. The file appears under its name only when
complete (it is written as FILE.partial first). It needs -o and is never written to a terminal;
'caliper-processor validate FILE' reads it back.

Every envelope passes the privacy policy (--privacy, --privacy-preset): by default the
documented output less credentials (access_token, api_key, ...) in URLs.

Exit status is 0 when every input line was handled (even when some were unmapped or
invalid); 1 when a FILE could not be read or the output could not be written; 2 on a usage
error.

examples:
  caliper-processor transform events.jsonl > caliper.jsonl
  caliper-processor transform --strict day1.jsonl.gz day2.jsonl.gz 2> rejects.jsonl
  caliper-processor transform --mappings extended events.jsonl   # all 82 Canvas events
  caliper-processor transform --format avro -o events.avro events.jsonl.gz
  caliper-processor transform --format avro --codec zstandard -o events.avro events.jsonl
  CALIPER_PRIVACY_KEY_FILE=key caliper-processor transform --privacy-preset minimal events.jsonl
  kafkacat -C -t canvas.live-events -e | caliper-processor transform - | jq .data[0].type
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE", help="JSON Lines input ('-' = stdin; .gz ok)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="emit the Caliper 1.1-conformant form where Instructure's documented output deviates",
    )
    from processor.mapping_mode import add_option

    add_option(parser)
    parser.add_argument(
        "--privacy",
        metavar="FILE",
        help="a privacy policy: a TOML file whose [privacy] table holds preset, fields, "
        "pseudonymous_users, urls, remove_params, credential_params (docs/security.md)",
    )
    parser.add_argument(
        "--privacy-preset",
        metavar="NAME",
        help="instructure (the default: the documented output, less credentials in URLs) or minimal "
        "(no login, SIS ids or user agent, IP to /24, pseudonymous users); hashing needs the key "
        "in CALIPER_PRIVACY_KEY or CALIPER_PRIVACY_KEY_FILE",
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="check every envelope against the 1.1 rules (tolerating Instructure's documented "
        "deviations unless --strict); a failing one is reported on stderr with stage 'validate'",
    )
    parser.add_argument(
        "--format",
        choices=("json", "avro"),
        default="json",
        help="json: one envelope per line (default); avro: one Avro object container file (needs -o)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the envelopes to FILE instead of stdout (required with --format avro)",
    )
    from processor.avro.files import CODECS, DEFAULT_CODEC

    parser.add_argument(
        "--codec",
        choices=CODECS,
        default=None,
        help=f"block compression of --format avro (default {DEFAULT_CODEC}; zstandard needs "
        "backports.zstd, snappy cramjam: pip install 'caliper-processor[codecs]')",
    )


def _open(path: str) -> BinaryIO:
    if path == "-":
        stream: BinaryIO = sys.stdin.buffer
    else:
        stream = open(path, "rb")  # noqa: SIM115 (closed by the caller)
    head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
    if head == b"\x1f\x8b" or path.endswith(".gz"):
        return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]
    return stream


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    yield from stream


def _usage_error(message: str) -> int:
    sys.stderr.write(f"caliper-processor transform: {message}\n")
    return 2


def _write_error(path: str, exc: OSError) -> int:
    sys.stderr.write(f"caliper-processor transform: cannot write {path}: {exc.strerror or exc}\n")
    return 1


def _is_terminal(path: str) -> bool:
    try:
        if not stat.S_ISCHR(os.stat(path).st_mode):
            return False
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.isatty(fd)
    finally:
        os.close(fd)


class _JsonLines:
    """One envelope per line, to stdout or to -o FILE."""

    def __init__(self, path: str | None) -> None:
        self._own = bool(path) and path != "-"
        self._out: BinaryIO = open(path, "wb") if self._own else sys.stdout.buffer  # type: ignore[arg-type]  # noqa: SIM115
        self._dumps = orjson.dumps

    def write(self, envelope: dict) -> None:
        self._out.write(self._dumps(envelope) + b"\n")

    def close(self) -> None:
        if self._own:
            self._out.close()
        else:
            self._out.flush()

    abort = close


def _sink(args: argparse.Namespace, mode: str) -> Any:
    """Where the envelopes go, or the exit status when the options or the output do not allow it."""
    if args.format == "json":
        if args.codec:
            return _usage_error("--codec applies to --format avro only")
        try:
            return _JsonLines(args.output)
        except OSError as exc:
            return _write_error(args.output, exc)
    from processor.avro.files import DEFAULT_CODEC, EnvelopeFileWriter, codec_problem

    if not args.output or args.output == "-":
        return _usage_error("--format avro writes a binary Avro container file: name it with -o FILE")
    if _is_terminal(args.output):
        return _usage_error(f"--format avro: {args.output} is a terminal; name a file with -o FILE")
    codec = args.codec or DEFAULT_CODEC
    problem = codec_problem(codec)
    if problem:
        return _usage_error(problem)
    metadata = {"caliper.mappings": mode, "caliper.form": "strict" if args.strict else "default"}
    try:
        return EnvelopeFileWriter(args.output, codec=codec, metadata=metadata)
    except OSError as exc:
        return _write_error(args.output, exc)


def run(args: argparse.Namespace) -> int:
    from mappings.privacy import PolicyError
    from mappings.transform import Transformer
    from processor.mapping_mode import resolve
    from processor.privacy import command_policy

    try:
        policy = command_policy(args.privacy, args.privacy_preset)
    except PolicyError as exc:
        sys.stderr.write(f"caliper-processor transform: {exc}\n")
        return 2
    mode = resolve(args)
    sink = _sink(args, mode)
    if isinstance(sink, int):
        return sink
    transformer = Transformer(strict=args.strict, mappings=mode, policy=policy)
    validate = None
    if args.validate:
        from mappings.validator import validate_envelope

        tolerant = not args.strict

        def validate(envelope: dict) -> list:
            return validate_envelope(envelope, tolerant=tolerant)

    try:
        status = _transform_files(args, transformer, validate, sink)
    except BrokenPipeError:  # `... | head`: the reader is gone, which is not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sink.abort()
        return 0
    except BaseException:
        sink.abort()
        raise
    try:
        sink.close()
    except OSError as exc:
        return _write_error(args.output, exc)
    return status


def _transform_files(args: argparse.Namespace, transformer, validate, sink: Any) -> int:
    from mappings.errors import MappingError

    write = sink.write
    err = sys.stderr.buffer
    dumps = orjson.dumps
    line_no = 0
    status = 0
    for path in args.files or ["-"]:
        try:
            stream = _open(path)
        except OSError as exc:
            sys.stderr.write(f"caliper-processor transform: cannot read {path}: {exc.strerror or exc}\n")
            status = 1
            continue
        try:
            for raw in _lines(stream):
                line_no += 1
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    output = transformer.transform(raw)
                except MappingError as exc:
                    err.write(dumps({"line": line_no, "stage": exc.stage, "reason": exc.reason}) + b"\n")
                    continue
                if validate is not None:
                    violations = validate(output.envelope)
                    if violations:
                        reason = "; ".join(str(v) for v in violations)
                        err.write(dumps({"line": line_no, "stage": "validate", "reason": reason}) + b"\n")
                        continue
                write(output.envelope)
        except BrokenPipeError:
            raise
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            sys.stderr.write(f"caliper-processor transform: cannot read {path}: {exc}\n")
            status = 1
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
    err.flush()
    return status
