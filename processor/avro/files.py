"""Avro object container files of envelopes: what `transform --format avro` writes, `validate` reads.

A container file carries its writer schema in its header and its records in compressed blocks,
the form warehouses (BigQuery, Snowflake, Spark, Hive) load in bulk. Records are the codec's
record form, so `from_record` gives each envelope back exactly, and any Avro reader (avro-tools,
fastavro, the warehouse's loader) reads them with the schema in the header.

Codecs are fastavro's: `null` and `deflate` need nothing; `snappy` and `zstandard` need the
libraries of fastavro's extras of those names (cramjam; backports.zstd before Python 3.14, for
fastavro 1.12 and later), which `pip install 'caliper-processor[codecs]'` brings.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from typing import IO, Any

MAGIC = b"Obj\x01"  # the first four bytes of every Avro object container file
CODECS = ("null", "deflate", "zstandard", "snappy")
DEFAULT_CODEC = "deflate"
BLOCK_BYTES = 256 * 1024  # uncompressed bytes per block: the unit a loader splits a file at


class AvroFileError(Exception):
    """A container file that cannot be read: corrupt, truncated, or not an Avro file at all."""


def codec_problem(codec: str) -> str | None:
    """Why `codec` cannot be written here (its library is missing), or None when it can.

    Asks fastavro itself, by writing an empty file, so the answer follows the fastavro installed.
    """
    import fastavro

    if codec not in CODECS:
        return f"unknown Avro codec {codec!r} (one of {', '.join(CODECS)})"
    try:
        fastavro.writer(io.BytesIO(), {"type": "record", "name": "Probe", "fields": []}, [{}], codec=codec)
    except ValueError as exc:  # fastavro's words name the library its version uses
        return f"Avro codec {codec}: {exc} (pip install 'caliper-processor[codecs]')"
    return None


def available_codecs() -> list[str]:
    return [c for c in CODECS if codec_problem(c) is None]


class _Block:
    """What fastavro's `Writer.write_block` takes (the shape of its block_reader's blocks)."""

    __slots__ = ("bytes_", "num_records")

    def __init__(self, data: bytes, count: int) -> None:
        self.bytes_ = io.BytesIO(data)
        self.num_records = count


class EnvelopeFileWriter:
    """Writes envelopes into `path` through a `.partial` file renamed at `close()`, so a batch load
    never picks up a half-written file; `abort()` removes it instead.

    fastavro writes the header, compresses the blocks and places the sync markers; the records are
    the codec's binary bodies, the very bytes fastavro's own record writer gives for `to_record`
    (tests/avro/test_avro_lossless.py), at a tenth of its cost: fastavro resolves each of the
    schema's few hundred optional unions per envelope by checking the value against its branches.
    """

    def __init__(
        self,
        path: str,
        *,
        codec: str = DEFAULT_CODEC,
        metadata: dict[str, str] | None = None,
        block_bytes: int = BLOCK_BYTES,
    ) -> None:
        from fastavro.write import Writer

        from processor.avro.codec import encode_into, parsed_schema

        self.path = path
        # a device or a pipe (/dev/null, a FIFO) is written as it is: it cannot be renamed onto
        regular = not os.path.exists(path) or os.path.isfile(path)
        self.partial = f"{path}.partial" if regular else None
        self._encode_into = encode_into
        self._block_bytes = block_bytes
        self._buf = bytearray()
        self._pending = 0
        self.count = 0
        self._stream: IO[bytes] = open(self.partial or path, "wb")  # noqa: SIM115 (closed in close/abort)
        try:
            self._writer = Writer(self._stream, parsed_schema(), codec=codec, metadata=metadata or {})
        except BaseException:
            self.abort()
            raise

    def write(self, envelope: dict) -> None:
        if envelope.__class__ is not dict:
            raise ValueError(f"an envelope is a JSON object, not {type(envelope).__name__}")
        self._encode_into(envelope, self._buf)
        self._pending += 1
        self.count += 1
        if len(self._buf) >= self._block_bytes:
            self._write_block()

    def _write_block(self) -> None:
        if self._pending:
            self._writer.write_block(_Block(bytes(self._buf), self._pending))
            self._buf.clear()
            self._pending = 0

    def close(self) -> None:
        self._write_block()
        self._writer.flush()
        self._stream.close()
        if self.partial:
            os.replace(self.partial, self.path)

    def abort(self) -> None:
        self._stream.close()
        if self.partial:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.partial)


def is_container(stream: IO[bytes]) -> bool:
    """True when the (peekable) stream starts with the Avro container magic."""
    peek = getattr(stream, "peek", None)
    return peek is not None and peek(4)[:4] == MAGIC


def read_envelopes(stream: IO[bytes]) -> Iterator[Any]:
    """Each record of a container file as the JSON envelope; a non-record datum is yielded as is.

    Records are read by field name, so a file written with an older or newer version of the schema
    reads too. Anything wrong with the file itself raises AvroFileError (one line, no traceback).
    """
    import fastavro

    from processor.avro.codec import from_record

    n = 0
    try:
        for record in fastavro.reader(stream):
            n += 1
            yield from_record(record) if isinstance(record, dict) else record
    except AvroFileError:
        raise
    except Exception as exc:  # fastavro raises what the broken bytes lead it to: EOF, zlib, values
        where = "before its first record" if n == 0 else f"after record {n}"
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AvroFileError(f"corrupt or truncated Avro container file ({where}: {detail})") from None
