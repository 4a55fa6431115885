"""JSON bytes -> Python values, refusing what would change data silently, with one-line reasons.

orjson already refuses most hostile input (invalid UTF-8, lone surrogate escapes, NaN and
Infinity, nesting deeper than 1024, trailing bytes); this module turns its messages into reasons
a person reading a dead letter understands. One thing orjson does not refuse: an integer literal
outside the 64-bit range becomes a float (orjson issue 308), so 123456789012345678901234567890
would come out as 1.2345678901234568e+29. Such an input is refused here instead.

The check costs one pass over the bytes on every event (a `bytes.translate` and a substring
search, about 1.5 µs for a 1.5 KB event): an out-of-range integer needs at least 19 digits in a
row, which Canvas events almost never have (their ids are 17 digits), and only an input that has
such a run is tokenised by a regular expression to find out whether the run is an integer.
"""

from __future__ import annotations

import re

import orjson

from mappings.errors import MappingError

# Every ASCII digit becomes b"0", so a run of 19 digits is a run of 19 zeros.
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_RUN = b"0" * 19  # -2**63 has 19 digits; any integer with fewer fits in 64 bits
# In valid JSON (orjson accepted it first): a string, or a digit run that starts a number token
# (not a fraction or an exponent) and is not followed by one: an integer literal.
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|(?<![0-9.eE+\-])(-?[0-9]{19,})(?![0-9.eE])', re.DOTALL)
_INTEGER_AT = re.compile(rb"-?[0-9]+(?![0-9.eE])")
_U64_MAX = b"18446744073709551615"
_I64_MIN = b"9223372036854775808"  # magnitude of -2**63
DEPTH_LIMIT = 1024  # orjson's own limit on nested arrays and objects


def loads(raw: bytes, what: str = "input", stage: str = "decode") -> object:
    """`raw` decoded, or MappingError(stage) whose reason names what is wrong with it."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MappingError(stage, f"{what} {_decode_reason(raw, exc)}", None) from None
    if _LONG_RUN in raw.translate(_DIGITS_AS_ZERO):
        big = wide_integer(raw)
        if big is not None:
            raise MappingError(stage, f"{what} has an integer beyond 64 bits: {_shown(big)}", None)
    return obj


def _shown(literal: bytes) -> str:
    if len(literal) <= 40:
        return literal.decode()
    return f"{literal[:20].decode()}... ({len(literal.lstrip(b'-'))} digits)"


def wide_integer(raw: bytes) -> bytes | None:
    """The first integer literal of the JSON text `raw` outside [-2**63, 2**64 - 1], if any.

    Compared as digit strings (same length: lexical order is numeric order; JSON has no leading
    zeros), so a 100,000-digit literal costs no big-number conversion and meets no `int` limit.
    """
    for m in _TOKEN.finditer(raw):
        lit = m.group(1)
        if lit is None:
            continue
        if lit[0] == 45:  # b"-"
            digits = lit[1:]
            if len(digits) > 19 or (len(digits) == 19 and digits > _I64_MIN):
                return lit
        elif len(lit) > 20 or (len(lit) == 20 and lit > _U64_MAX):
            return lit
    return None


def _decode_reason(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """orjson's message as a plain sentence (orjson says "surrogates not allowed" for any bad UTF-8)."""
    msg, pos = exc.msg, exc.pos
    if not raw.strip():
        return "is empty" if not raw else "is only whitespace"
    if "not valid UTF-8" in msg:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            return f"is not valid UTF-8 (byte 0x{raw[err.start]:02x} at offset {err.start})"
        return "is not valid UTF-8"  # pragma: no cover - orjson and Python agree on UTF-8
    if "depth limit exceeded" in msg:
        return f"is nested deeper than {DEPTH_LIMIT} arrays or objects (at char {pos})"
    if "surrogate" in msg:
        return f"has a lone surrogate escape (\\ud800-\\udfff) in a string (at char {pos})"
    if raw[pos : pos + 9].lstrip(b"-").startswith((b"NaN", b"Infinity")):
        return f"has NaN or Infinity, which are not JSON numbers (at char {pos})"
    if "number is infinity" in msg:
        literal = _INTEGER_AT.match(raw, pos)
        if literal is not None:  # orjson refuses integers of 310 digits or more outright
            return f"has an integer beyond 64 bits: {_shown(literal.group())}"
        return f"has a number beyond the range of a double (at char {pos})"
    return f"is not JSON: {msg} (at char {pos})"
