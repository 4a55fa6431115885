"""The Canvas live event as the mappings see it: event name, metadata, body.

Unwrapping accepts the three wrappers Canvas events travel in (MAPPING-RULES decision 7):
`{"metadata", "body"}` (Data Services), `{"attributes", "body"}` (Canvas's own stream) and the
older `{"metadata", "data"}`. A key that is missing and a key that is null mean the same
(decision 8). Typed accessors turn wrong input into MappingError(stage "map") naming the field,
so a mapping function never has to think about junk and the worker never crashes on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from keyword import iskeyword

from mappings.decode import loads
from mappings.errors import MappingError
from mappings.timestamps import normalize_timestamp

# Characters that cannot appear in an IRI (RFC 3987): controls, any white space and a few delimiters.
_ID_OK = re.compile(r"[^\s\x00-\x20<>\"{}|\\^`\x7f-\x9f]+").fullmatch
# The id fast paths test `value.isascii() and value.encode().isalnum()`: the same answer as
# `str.isalnum` for ASCII text, but bytes.isalnum reads a 128-entry table where str.isalnum asks
# four Unicode tables per character (40 vs 110 ns for a 17-digit Canvas id, 46 vs 145 for a session id).


class CanvasEvent:
    """One unwrapped Canvas live event. `meta` and `body` are the decoded dicts, not copies."""

    __slots__ = ("body", "meta", "name")

    def __init__(self, name: str, meta: dict, body: dict) -> None:
        self.name = name
        self.meta = meta
        self.body = body

    # -- metadata --------------------------------------------------------------------------
    def meta_id(self, key: str) -> str | None:
        """An id from the metadata (user_id, context_id, ...) as a string, or None."""
        value = self.meta.get(key)
        if value.__class__ is str and value.isascii() and value.encode().isalnum():  # the common case
            return value
        return _as_id(value, "metadata." + key)

    def meta_str(self, key: str) -> str | None:
        return _as_str(self.meta.get(key), "metadata." + key)

    # -- body ------------------------------------------------------------------------------
    def body_id(self, key: str) -> str | None:
        value = self.body.get(key)
        # Numeric ids, and type names such as asset_type's `wiki_page` (ASCII identifiers hold only
        # letters, digits and `_`, all usable in a URN), skip the regex of _as_id.
        if value.__class__ is str and value.isascii() and (value.encode().isalnum() or value.isidentifier()):
            return value
        return _as_id(value, "body." + key)

    def require_id(self, key: str) -> str:
        """The body id the object is named by; without it there is no Caliper object."""
        value = self.body.get(key)
        if value.__class__ is str and value.isascii() and value.encode().isalnum():
            return value
        value = _as_id(value, "body." + key)
        if value is None:
            raise MappingError("map", f"body.{key} is required for {self.name}", "body." + key)
        return value

    def body_str(self, key: str) -> str | None:
        value = self.body.get(key)
        if value is None or value.__class__ is str:  # the common case, inline
            return value
        return _as_str(value, "body." + key)

    def body_ts(self, key: str) -> str | None:
        value = self.body.get(key)
        if value is None:
            return None
        return normalize_timestamp(value, "body." + key)

    def body_number(self, key: str) -> int | float | None:
        """A score or points value; integral floats become ints (`100.0` -> `100`, as documented)."""
        value = self.body.get(key)
        if value is None:
            return None
        kind = type(value)
        if kind is int:
            if _INT_MIN <= value <= _INT_MAX:
                return value
            raise MappingError("map", f"body.{key}: number out of range", "body." + key)
        if kind is float:
            if value != value or value in (float("inf"), float("-inf")):
                raise MappingError("map", f"body.{key}: not a finite number", "body." + key)
            return int(value) if value.is_integer() and abs(value) < 2**53 else value
        raise MappingError("map", f"body.{key}: expected a number, got {kind.__name__}", "body." + key)

    def body_int(self, key: str) -> int | None:
        value = self.body_number(key)
        if value is None or type(value) is int:
            return value
        raise MappingError("map", f"body.{key}: expected an integer, got {value!r}", "body." + key)


_PLAIN = frozenset({str, bool})
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what JSON encoders (orjson) can write


def check_extension_values(ext: dict, where: str) -> dict:
    """Extension values copied from Canvas must be plain JSON scalars: Canvas sends nothing else,
    and a nested null or an unencodable number would make the envelope invalid or unwritable."""
    for key, value in ext.items():
        if value.__class__ not in _PLAIN:
            _check_scalar(value, f"{where}.{key}")
    return ext


def copy_present(source: dict, pairs: tuple[tuple[str, str], ...], where: str, into: dict) -> dict:
    """Copy `source[src]` to `into[dst]` for each pair whose value is present (not None), checked
    as an extension value. One loop, no intermediate dict: this runs several times per event."""
    get = source.get
    for src, dst in pairs:
        value = get(src)
        if value is not None:
            if value.__class__ is not str and value.__class__ is not bool:
                _check_scalar(value, f"{where}.{src}")
            into[dst] = value
    return into


def present_copier(pairs: tuple[tuple[str, str], ...], where: str) -> Callable[[dict, dict], dict]:
    """`copy_present` for one fixed field table, compiled once into straight-line code.

    `copier(source, into)` gives what `copy_present(source, pairs, where, into)` gives (the fast
    path tests hold them to it); the builders compile their tables at import, since the per-pair
    loop with its tuple unpacking costs more than the copying itself on every event.
    """
    entries = [(f"get({src!r})", dst, f"{where}.{src}") for src, dst in pairs]
    return _compile_present("copy(source, into)", ["get = source.get"], "into", entries)


def extension_table(where: str, fields: dict[str, str]) -> Callable[..., dict]:
    """`keep_present` of a fixed table `{extension key: source}`, compiled once.

    A source is `body.<key>` or `metadata.<key>` (read from the event) or the name of a keyword
    argument (a value the mapping computed). `table(ev, **computed)` gives what `keep_present`
    of the same dict literal gives, errors naming `<where>.<extension key>` included, without
    building the literal and its absent (None) entries first.
    """
    entries = []
    arguments = []
    for key, source in fields.items():
        part, _, name = source.partition(".")
        if name and part in ("body", "metadata"):
            entries.append((f"{part}.get({name!r})", key, f"{where}.{key}"))
        elif not name and source.isidentifier() and source not in _RESERVED and not iskeyword(source):
            if source not in arguments:
                arguments.append(source)
            entries.append((source, key, f"{where}.{key}"))
        else:
            raise ValueError(f"{where}.{key}: source {source!r} is not body.<key>, metadata.<key> or a name")
    signature = f"table(ev, *, {', '.join(arguments)})" if arguments else "table(ev)"
    return _compile_present(signature, ["body = ev.body", "metadata = ev.meta", "into = {}"], "into", entries)


# Names the compiled code uses itself, so not available for computed values.
_RESERVED = frozenset({"ev", "body", "metadata", "into", "value", "check", "table"})


def _compile_present(signature: str, prologue: list[str], into: str, entries: list) -> Callable[..., dict]:
    """One function that stores each entry's value under its key when present (not None), checked
    as an extension value. The source holds only reprs of the table's own keys and fields."""
    lines = [f"def {signature}:", *(f"    {line}" for line in prologue)]
    for expression, key, field in entries:
        lines += [
            f"    value = {expression}",
            "    if value is not None:",
            "        if value.__class__ is not str and value.__class__ is not bool:",
            f"            check(value, {field!r})",
            f"        {into}[{key!r}] = value",
        ]
    lines.append(f"    return {into}")
    namespace: dict = {"check": _check_scalar}
    exec("\n".join(lines), namespace)
    return namespace[signature.partition("(")[0]]


def keep_present(values: dict, where: str) -> dict:
    """`values` without its None entries, each value checked as an extension value."""
    out = {}
    for key, value in values.items():
        if value is not None:
            if value.__class__ is not str and value.__class__ is not bool:
                _check_scalar(value, f"{where}.{key}")
            out[key] = value
    return out


def _check_scalar(value: object, field: str) -> None:
    kind = type(value)
    if kind is int:
        if _INT_MIN <= value <= _INT_MAX:  # type: ignore[operator]
            return
    elif kind is float and value == value and value not in (float("inf"), float("-inf")):
        return
    kind_name = _json_kind(value)
    raise MappingError("map", f"{field}: expected a string, number or boolean, got {kind_name}", field)


check_scalar = _check_scalar  # for builders outside this module: one JSON scalar, checked


def _as_id(value: object, field: str) -> str | None:
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        if (value.isascii() and value.encode().isalnum()) or _ID_OK(value):  # fast path: plain ids, hex
            return value
        raise MappingError("map", f"{field}: {value[:60]!r} is not usable in a URN", field)
    if kind is int:
        return str(value)
    raise MappingError("map", f"{field}: expected an id (string or integer), got {kind.__name__}", field)


def _as_str(value: object, field: str) -> str | None:
    if value is None or type(value) is str:
        return value
    raise MappingError("map", f"{field}: expected a string, got {type(value).__name__}", field)


def unwrap(obj: object) -> CanvasEvent:
    """The CanvasEvent inside a decoded wrapper, or MappingError(stage "unwrap") naming the field."""
    if type(obj) is not dict:
        raise MappingError("decode", f"input is a JSON {_json_kind(obj)}, not an object", None)
    meta = obj.get("metadata")
    meta_key = "metadata"
    if meta is None:
        meta = obj.get("attributes")
        meta_key = "attributes"
        if meta is None:
            raise MappingError("unwrap", "no 'metadata' (or 'attributes') object in the input", "metadata")
    if type(meta) is not dict:
        raise MappingError("unwrap", f"{meta_key} must be an object, got {_json_kind(meta)}", meta_key)
    body = obj.get("body")
    body_key = "body"
    if body is None:
        body = obj.get("data")
        body_key = "data" if body is not None else "body"
    if body is None:
        body = {}
    elif type(body) is str:
        try:
            body = loads(body.encode("utf-8", "surrogatepass"), f"{body_key} string", "unwrap")
        except MappingError as exc:
            exc.field = body_key
            raise
        if type(body) is not dict:
            raise MappingError("unwrap", f"{body_key} string holds a JSON {_json_kind(body)}", body_key)
    elif type(body) is not dict:
        raise MappingError("unwrap", f"{body_key} must be an object, got {_json_kind(body)}", body_key)
    name = meta.get("event_name")
    if type(name) is not str or not name:
        if name is None:
            raise MappingError("unwrap", f"{meta_key}.event_name is missing", f"{meta_key}.event_name")
        raise MappingError(
            "unwrap", f"{meta_key}.event_name must be a non-empty string", f"{meta_key}.event_name"
        )
    return CanvasEvent(name, meta, body)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
    }.get(type(value), type(value).__name__)
