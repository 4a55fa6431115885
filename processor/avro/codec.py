"""Caliper envelope (a JSON dict) <-> Avro binary body, losslessly, fast enough for the worker.

Why not fastavro's writer for the hot path: our schema is wide and almost every field is an optional
union, and fastavro resolves each union by validating the datum against the branches: about 0.2 us per
absent field, 15-60 us per sample envelope with tuple notation on a loaded 2-core machine, against 13 us
for this encoder without its entity cache and 7 us with it (process time, same machine). This encoder is
compiled from the same field table as the schema: it walks only the keys an object has, writes the
absent fields of a record as one run of zero bytes (the null branch), and checks each value's exact
Python type so that whatever does not fit a typed field goes, JSON-encoded, into the record's `other`
field instead of being coerced. fastavro (C) reads the bytes back; `from_record` turns its dicts, or
confluent-kafka's AvroDeserializer's, or avro-tools' JSON, into the envelope again.

Lossless means: `decode(encode(env)) == orjson.loads(orjson.dumps(env))`, i.e. the JSON envelope the
JSON output would carry (orjson writes NaN and infinities as null, so they go through `other`).
"""

from __future__ import annotations

import io
import re
import struct
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from processor.avro.schema import (
    BOOL,
    ENT,
    ENTS,
    JSON,
    NUM,
    STR,
    STRS,
    TIME,
    avro_name,
    child_of,
    fields_of,
    load_schema,
)

_CANONICAL_TIME = re.compile(
    r"(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z",
    re.ASCII,
).fullmatch
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_MS = 86_400_000
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_pack_double = struct.Struct("<d").pack


class Misfit(Exception):
    """A value that its typed field cannot hold exactly (it goes to `other`)."""


def _varint(n: int) -> bytes:
    """Zig-zag varint of a long."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


_SMALL = [_varint(n) for n in range(4096)]  # lengths and counts
_ZEROS = [b"\x00" * n for n in range(128)]
CACHE_ENTRIES = 8192  # encoded top-level entities kept (about 4 MB); cleared when full
# The event's entities worth remembering: the application and the course repeat from event to event
# (in the bench's mix 100% and 88% of the time); actors, objects, memberships and sessions mostly do
# not (24%, 8%, 5%, 38%), and for them the cache key, one orjson call, cost more than it saved.
CACHED_FIELDS = frozenset({"edApp", "group"})
MAX_PLANS = 512  # key shapes compiled per record; beyond that the generic path (a pathological input)


def _length(n: int) -> bytes:
    return _SMALL[n] if n < 4096 else _varint(n)


_minute_ms: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM" -> epoch millis of that minute
_date_text: dict[int, str] = {}  # days since epoch -> "YYYY-MM-DD"


def time_to_millis(v: object) -> int:
    """Canonical Caliper time (`YYYY-MM-DDTHH:MM:SS.sssZ`, year 0001-9999) -> epoch millis; else Misfit.

    Anything else (another precision, an offset, year 0000 that datetime-based readers refuse) is
    not a misreading waiting to happen: it stays a string, in `other`.
    """
    if v.__class__ is not str or len(v) != 24:  # type: ignore[arg-type]
        raise Misfit
    s: str = v  # type: ignore[assignment]
    base = _minute_ms.get(s[:16])
    if base is None:
        if not _CANONICAL_TIME(s):
            raise Misfit
        try:
            d = date(int(s[:4]), int(s[5:7]), int(s[8:10]))
        except ValueError:  # February 30th and the like
            raise Misfit from None
        base = (d.toordinal() - _EPOCH_ORDINAL) * _DAY_MS + int(s[11:13]) * 3_600_000 + int(s[14:16]) * 60_000
        if len(_minute_ms) > 100_000:
            _minute_ms.clear()
        _minute_ms[s[:16]] = base
    tail = s[17:19] + s[20:23]
    if s[16] != ":" or s[19] != "." or s[23] != "Z" or not (tail.isascii() and tail.isdigit()) or s[17] > "5":
        raise Misfit
    return base + int(s[17:19]) * 1000 + int(s[20:23])


def millis_to_time(ms: int) -> str:
    """Epoch millis -> canonical Caliper time."""
    days, rem = divmod(ms, _DAY_MS)
    day = _date_text.get(days)
    if day is None:
        day = date.fromordinal(days + _EPOCH_ORDINAL).isoformat()
        if len(_date_text) > 100_000:
            _date_text.clear()
        _date_text[days] = day
    h, rem = divmod(rem, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, milli = divmod(rem, 1000)
    return f"{day}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def _enc_str(v: object, out: bytearray) -> None:
    if v.__class__ is not str:
        raise Misfit
    b = v.encode()  # type: ignore[attr-defined]
    out += b"\x02"
    out += _length(len(b))
    out += b


def _enc_num(v: object, out: bytearray) -> None:
    cls = v.__class__
    if cls is int:
        if not _LONG_MIN <= v <= _LONG_MAX:  # type: ignore[operator]
            raise Misfit
        out += b"\x02"
        out += _SMALL[v] if 0 <= v < 4096 else _varint(v)  # type: ignore[index, operator, arg-type]
    elif cls is float and v - v == 0.0:  # type: ignore[operator]  # finite (NaN and inf fail)
        out += b"\x04"
        out += _pack_double(v)  # type: ignore[arg-type]
    else:
        raise Misfit


def _enc_bool(v: object, out: bytearray) -> None:
    if v is True:
        out += b"\x02\x01"
    elif v is False:
        out += b"\x02\x00"
    else:
        raise Misfit


def _enc_time(v: object, out: bytearray) -> None:
    z = time_to_millis(v) << 1  # zig-zag; times before 1970 are negative
    if z < 0:
        z = ~z
    if 0x200000000 <= z < 0x40000000000:  # 2^33 .. 2^42: 1970-04-04 to 2039-09-07, six bytes
        out += b"\x02"
        out += bytes(
            (
                z & 0x7F | 0x80,
                z >> 7 & 0x7F | 0x80,
                z >> 14 & 0x7F | 0x80,
                z >> 21 & 0x7F | 0x80,
                z >> 28 & 0x7F | 0x80,
                z >> 35,
            )
        )
    else:
        out += b"\x02"
        out += _varint(time_to_millis(v))


def _enc_strs(v: object, out: bytearray) -> None:
    if v.__class__ is not list:
        raise Misfit
    for s in v:  # type: ignore[attr-defined]
        if s.__class__ is not str:
            raise Misfit
    out += b"\x02"
    if v:
        out += _length(len(v))  # type: ignore[arg-type]
        for s in v:  # type: ignore[attr-defined]
            b = s.encode()
            out += _length(len(b))
            out += b
    out += b"\x00"


def _enc_json(v: object, out: bytearray) -> None:
    try:
        b = orjson.dumps(v)
    except (TypeError, orjson.JSONEncodeError):
        raise Misfit from None
    out += b"\x02"
    out += _length(len(b))
    out += b


class _Record:
    """One record of the schema: slot per field, and how to encode and decode each."""

    __slots__ = (
        "avro_names",
        "cache",
        "children",
        "decoders",
        "encoders",
        "json_names",
        "kinds",
        "n",
        "name",
        "plans",
        "slot",
    )

    def __init__(self, name: str, records: dict[str, _Record]) -> None:
        records[name] = self
        self.name = name
        table = fields_of(name)
        self.n = len(table) + 1  # + other
        self.slot: dict[str, int] = {}
        self.encoders: list[Any] = []
        self.json_names: list[str] = []
        self.avro_names: list[str] = [*(avro_name(f[0]) for f in table), "other"]
        self.decoders: list[Any] = []
        self.kinds: list[str] = []
        self.children: list[_Record | None] = []
        self.plans: dict[tuple, Any] = {}
        self.cache: dict[bytes, bytes] = {}
        child_name = child_of(name)
        for i, (json_name, kind, _doc) in enumerate(table):
            self.slot[json_name] = i
            self.json_names.append(json_name)
            self.kinds.append(kind)
            if kind in (ENT, ENTS):
                child = records.get(child_name) or _Record(child_name, records)  # type: ignore[arg-type]
                self.encoders.append(_entity_encoder(child) if kind == ENT else _entities_encoder(child))
                self.decoders.append((kind, child))
                self.children.append(child)
            else:
                self.encoders.append(
                    {
                        STR: _enc_str,
                        NUM: _enc_num,
                        BOOL: _enc_bool,
                        TIME: _enc_time,
                        STRS: _enc_strs,
                        JSON: _enc_json,
                    }[kind]
                )
                self.decoders.append((kind, None))
                self.children.append(None)

    def encode(self, d: dict, out: bytearray) -> None:
        """Fast path: the compiled plan of this key shape; a misfit falls back to the split."""
        keys = tuple(d)
        plan = self.plans.get(keys)
        if plan is None:
            plan = self._compile(keys)
        start = len(out)
        try:
            plan(d, out)
        except Misfit:
            del out[start:]
            self._encode_split(d, out)

    def encode_cached(self, d: dict, out: bytearray) -> None:
        """`encode` memoized by the entity's JSON: actor, edApp, group, membership, session and many
        objects repeat from event to event, and one orjson call costs a fraction of an encoding."""
        try:
            key = orjson.dumps(d)
        except (TypeError, orjson.JSONEncodeError):
            self.encode(d, out)
            return
        cache = self.cache
        b = cache.get(key)
        if b is None:
            start = len(out)
            self.encode(d, out)
            if len(cache) >= CACHE_ENTRIES:
                cache.clear()
            cache[key] = bytes(out[start:])
        else:
            out += b

    def _compile(self, keys: tuple) -> Any:
        """Straight-line code for one key shape (mappings emit a few dozen shapes per record)."""
        if len(self.plans) >= MAX_PLANS:
            return self._encode_split
        slot = self.slot
        if any(k not in slot for k in keys) or len(set(keys)) != len(keys):
            self.plans[keys] = self._encode_split
            return self._encode_split
        ns: dict[str, Any] = {
            "Misfit": Misfit,
            "S": _SMALL,
            "varint": _varint,
            "str": str,
            "dict": dict,
            "tuple": tuple,
        }
        lines = ["def plan(d, out):"]
        last = -1
        for n, k in enumerate(sorted(keys, key=slot.__getitem__)):
            i = slot[k]
            gap = _ZEROS[i - last - 1]
            last = i
            kind = self.kinds[i]
            ns[f"k{n}"] = k
            lines.append(f"    v = d[k{n}]")
            if kind == STR:
                ns[f"g{n}"] = gap + b"\x02"
                lines += [
                    "    if v.__class__ is not str: raise Misfit",
                    "    b = v.encode()",
                    f"    out += g{n}",
                    "    n = len(b)",
                    "    out += S[n] if n < 4096 else varint(n)",
                    "    out += b",
                ]
            elif kind == ENT:
                ns[f"g{n}"] = gap + b"\x02"
                child = self.children[i]
                if self.name == "Event" and k in CACHED_FIELDS:
                    ns[f"c{n}"] = child.encode_cached  # type: ignore[union-attr]
                    lines += [
                        "    if v.__class__ is not dict: raise Misfit",
                        f"    out += g{n}",
                        f"    c{n}(v, out)",
                    ]
                else:  # the child's plan called in line; its misfit redoes this record the slow way
                    ns[f"p{n}"] = child.plans  # type: ignore[union-attr]
                    ns[f"c{n}"] = child._compile  # type: ignore[union-attr]
                    lines += [
                        "    if v.__class__ is not dict: raise Misfit",
                        f"    out += g{n}",
                        "    t = tuple(v)",
                        f"    (p{n}.get(t) or c{n}(t))(v, out)",
                    ]
            else:
                ns[f"g{n}"] = gap
                ns[f"e{n}"] = self.encoders[i]
                if gap:
                    lines.append(f"    out += g{n}")
                lines.append(f"    e{n}(v, out)")
        ns["tail"] = _ZEROS[self.n - last - 1]
        lines.append("    out += tail")
        exec("\n".join(lines), ns)
        plan = ns["plan"]
        self.plans[keys] = plan
        return plan

    def _encode_split(self, d: dict, out: bytearray) -> None:
        slot, encoders = self.slot, self.encoders
        typed: list[tuple[int, Any]] = []
        other: dict[str, Any] = {}
        for k, v in d.items():
            i = slot.get(k)
            if i is None:
                other[k] = v
                continue
            probe = bytearray()
            try:
                encoders[i](v, probe)
            except Misfit:
                other[k] = v
                continue
            typed.append((i, probe))
        typed.sort(key=lambda t: t[0])
        last = -1
        for i, b in typed:
            gap = i - last - 1
            if gap:
                out += _ZEROS[gap]
            out += b
            last = i
        gap = self.n - 1 - last - 1
        if gap:
            out += _ZEROS[gap]
        if other:
            b = self._other_json(other)
            out += b"\x02"
            out += _length(len(b))
            out += b
        else:
            out += b"\x00"

    def to_record(self, d: dict) -> dict:
        """The datum fastavro's writers take for this object, split as `encode` splits it.

        Numbers carry their branch in fastavro's tuple notation (("long", 3), ("double", 3.0)),
        so that the writer never picks a branch by value: 3.0 stays a double, True never a long.
        """
        rec: dict[str, Any] = dict.fromkeys(self.avro_names)
        slot, encoders, kinds, children = self.slot, self.encoders, self.kinds, self.children
        other: dict[str, Any] = {}
        for k, v in d.items():
            i = slot.get(k)
            if i is None:
                other[k] = v
                continue
            kind = kinds[i]
            if kind == ENT:
                if v.__class__ is not dict:
                    other[k] = v
                    continue
                value: Any = children[i].to_record(v)  # type: ignore[union-attr]
            elif kind == ENTS:
                if v.__class__ is not list or any(x.__class__ is not dict for x in v):
                    other[k] = v
                    continue
                value = [children[i].to_record(x) for x in v]  # type: ignore[union-attr]
            else:
                try:
                    encoders[i](v, bytearray())  # the same test of fit as the binary encoder's
                except Misfit:
                    other[k] = v
                    continue
                if kind == NUM:
                    value = ("long" if v.__class__ is int else "double", v)
                elif kind == TIME:
                    value = time_to_millis(v)
                elif kind == JSON:
                    value = orjson.dumps(v).decode()
                else:
                    value = v
            rec[self.avro_names[i]] = value
        if other:
            rec["other"] = self._other_json(other).decode()
        return rec

    def _other_json(self, other: dict) -> bytes:
        """The properties the schema does not type (or that misfit), as the `other` field's JSON."""
        try:
            return orjson.dumps(other)
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise ValueError(f"{self.name}: cannot encode {sorted(other)}: {exc}") from None

    def decode(self, rec: dict) -> dict:
        """An Avro record (fastavro / AvroDeserializer dict) -> the JSON object."""
        obj: dict[str, Any] = {}
        names, decoders = self.json_names, self.decoders
        for i, (kind, child) in enumerate(decoders):
            name = names[i]
            v = rec.get(avro_name(name))
            if v is None:
                continue
            obj[name] = _decode_value(kind, child, v)
        other = rec.get("other")
        if other is not None:
            obj.update(orjson.loads(other))
        return obj


def _decode_value(kind: str, child: _Record | None, v: Any) -> Any:
    if kind == TIME:
        if isinstance(v, datetime):  # readers that apply the logical type
            v = (v - _EPOCH_DT) // _MILLI
        return millis_to_time(v)
    if kind == JSON:
        return orjson.loads(v)
    if kind == ENT:
        return child.decode(v)  # type: ignore[union-attr]
    if kind == ENTS:
        return [child.decode(x) for x in v]  # type: ignore[union-attr]
    return v


_EPOCH_DT = datetime(1970, 1, 1, tzinfo=UTC)
_MILLI = timedelta(milliseconds=1)


def _entity_encoder(child: _Record):
    enc = child.encode

    def encode(v: object, out: bytearray) -> None:
        if v.__class__ is not dict:
            raise Misfit
        out += b"\x02"
        enc(v, out)  # type: ignore[arg-type]

    return encode


def _entities_encoder(child: _Record):
    enc = child.encode

    def encode(v: object, out: bytearray) -> None:
        if v.__class__ is not list:
            raise Misfit
        for x in v:  # type: ignore[attr-defined]
            if x.__class__ is not dict:
                raise Misfit
        out += b"\x02"
        if v:
            out += _length(len(v))  # type: ignore[arg-type]
            for x in v:  # type: ignore[attr-defined]
                enc(x, out)
        out += b"\x00"

    return encode


_RECORDS: dict[str, _Record] = {}
ENVELOPE = _Record("Envelope", _RECORDS)


def encode(envelope: dict) -> bytes:
    """The Avro binary body of one envelope (no framing)."""
    if envelope.__class__ is not dict:
        raise ValueError(f"an envelope is a JSON object, not {type(envelope).__name__}")
    out = bytearray()
    ENVELOPE.encode(envelope, out)
    return bytes(out)


def encode_into(envelope: dict, out: bytearray) -> None:
    """Append the body to `out` (the serializer writes its 5-byte header first)."""
    ENVELOPE.encode(envelope, out)


def to_record(envelope: dict) -> dict:
    """The Avro record form of one envelope, as fastavro's `writer`/`schemaless_writer` take it;
    `from_record` reverses it, and fastavro writes exactly the bytes `encode` gives."""
    if envelope.__class__ is not dict:
        raise ValueError(f"an envelope is a JSON object, not {type(envelope).__name__}")
    return ENVELOPE.to_record(envelope)


def from_record(record: dict) -> dict:
    """An Avro Envelope record as read by fastavro or confluent-kafka's AvroDeserializer -> envelope."""
    return ENVELOPE.decode(record)


_parsed: Any = None


def parsed_schema() -> Any:
    """The shipped schema parsed by fastavro (once)."""
    global _parsed
    if _parsed is None:
        import fastavro

        _parsed = fastavro.parse_schema(load_schema())
    return _parsed


def decode(body: bytes) -> dict:
    """An Avro binary body (no framing) -> the envelope, read by fastavro with the shipped schema."""
    import fastavro

    return from_record(fastavro.schemaless_reader(io.BytesIO(body), parsed_schema()))


def from_avro_json(record: dict) -> dict:
    """A record in Avro's JSON encoding (avro-tools tojson: unions as {"type": value}) -> envelope."""
    return from_record(_strip_unions(record, ENVELOPE))


def _strip_unions(rec: dict, spec: _Record) -> dict:
    out: dict[str, Any] = {}
    for i, (kind, child) in enumerate(spec.decoders):
        key = avro_name(spec.json_names[i])
        v = rec.get(key)
        if isinstance(v, dict):  # {"string": "x"}, {"long": 3}, {"org...Entity": {...}}, {"array": [...]}
            v = next(iter(v.values()))
        if v is not None and kind == ENT:
            v = _strip_unions(v, child)  # type: ignore[arg-type]
        elif v is not None and kind == ENTS:
            v = [_strip_unions(x, child) for x in v]  # type: ignore[arg-type]
        out[key] = v
    other = rec.get("other")
    out["other"] = next(iter(other.values())) if isinstance(other, dict) else other
    return out
