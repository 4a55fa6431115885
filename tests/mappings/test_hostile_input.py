"""Hostile input through `Transformer.transform`: each case is a MappingError with a clear reason.

The inputs are built from a real sample event with one hostile part put in as raw bytes, so the
rest of the event is valid and the hostile part alone decides the outcome.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from mappings.errors import MappingError
from mappings.transform import Transformer

SAMPLES = Path(__file__).resolve().parents[2] / "mappings" / "samples" / "canvas_events.jsonl"
MODES = ("instructure", "extended")


def sample(name: str) -> bytes:
    for line in SAMPLES.read_bytes().splitlines():
        if orjson.loads(line)["metadata"]["event_name"] == name:
            return line
    raise LookupError(name)


def with_body_field(name: str, key: str, literal: bytes) -> bytes:
    """The sample `name` with body[key] set to the raw JSON text `literal`."""
    obj = orjson.loads(sample(name))
    obj["body"][key] = "__HOSTILE__"
    raw = orjson.dumps(obj)
    assert raw.count(b'"__HOSTILE__"') == 1
    return raw.replace(b'"__HOSTILE__"', literal)


def refused(raw: object, mode: str) -> MappingError:
    with pytest.raises(MappingError) as info:
        Transformer(mappings=mode).transform(raw)  # type: ignore[arg-type]
    return info.value


# ---- integers beyond 64 bits: orjson turns them into floats; they must be refused instead ----

WIDE = [
    b"123456789012345678901234567890",
    b"18446744073709551616",  # 2**64
    b"-9223372036854775809",  # -2**63 - 1
    b"-123456789012345678901234567890",
    b"1" + b"0" * 5000,  # beyond Python's default int() digit limit too
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("literal", WIDE, ids=lambda b: b[:24].decode())
def test_an_integer_beyond_64_bits_in_an_unnamed_field_is_a_decode_error(mode: str, literal: bytes) -> None:
    err = refused(with_body_field("logged_in", "extra", literal), mode)
    assert err.stage == "decode"
    assert "integer beyond 64 bits" in err.reason
    assert literal[:20].decode() in err.reason
    assert len(err.reason) < 120


@pytest.mark.parametrize("mode", MODES)
def test_an_integer_beyond_64_bits_in_a_mapped_score_is_a_decode_error(mode: str) -> None:
    # Without the check the score came out as scoreGiven 1.2345678901234568e+29.
    err = refused(with_body_field("grade_change", "score", b"123456789012345678901234567890"), mode)
    assert (err.stage, err.reason) == (
        "decode",
        "input has an integer beyond 64 bits: 123456789012345678901234567890",
    )


@pytest.mark.parametrize("mode", MODES)
def test_an_integer_beyond_64_bits_inside_a_body_string_is_refused(mode: str) -> None:
    obj = orjson.loads(sample("logged_in"))
    obj["body"] = '{"redirect_url": "https://canvas.example.edu/", "n": 123456789012345678901234567890}'
    err = refused(orjson.dumps(obj), mode)
    assert err.stage == "unwrap"
    assert "integer beyond 64 bits: 123456789012345678901234567890" in err.reason


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "literal",
    [
        b"18446744073709551615",  # 2**64 - 1
        b"-9223372036854775808",  # -2**63
        b"9999999999999999999",
        b"1.2345678901234567890123",  # a float with a long fraction
        b"12345678901234567890123e-3",  # a float written with an exponent
        b"1e-12345678901234567890",
        b'"123456789012345678901234567890"',  # digits in a string
    ],
    ids=lambda b: b[:24].decode(),
)
def test_edge_values_inside_64_bits_and_long_digit_runs_that_are_no_integer_still_map(
    mode: str, literal: bytes
) -> None:
    out = Transformer(mappings=mode).transform(with_body_field("logged_in", "extra", literal))
    assert out.event["type"] == "SessionEvent"
    if mode == "extended":
        carried = out.event["object"]["extensions"]["com.instructure.canvas"]["extra"]
        assert carried == orjson.loads(literal)
        if literal[:1] != b'"' and b"." not in literal and b"e" not in literal:
            assert type(carried) is int and str(carried) == literal.decode()


# ---- every other hostile case: (input, stage, reason) written out here, in both modes ----

NESTED_100K = b"[" * 100_000 + b"]" * 100_000
HOSTILE = {
    "depth 100,000": (
        with_body_field("logged_in", "extra", NESTED_100K),
        "decode",
        "input is nested deeper than 1024 arrays or objects (at char {depth})",
    ),
    "invalid UTF-8 in a string": (
        with_body_field("logged_in", "extra", b'"caf\xe9"'),
        "decode",
        "input is not valid UTF-8 (byte 0xe9 at offset {0})",
    ),
    "invalid UTF-8 bytes alone": (
        b"\xff\xfe\x00",
        "decode",
        "input is not valid UTF-8 (byte 0xff at offset 0)",
    ),
    "a surrogate encoded as UTF-8 bytes": (
        with_body_field("logged_in", "extra", b'"\xed\xa0\x80"'),
        "decode",
        "input is not valid UTF-8 (byte 0xed at offset {0})",
    ),
    "a lone high surrogate escape": (
        with_body_field("logged_in", "extra", b'"\\ud800"'),
        "decode",
        "input has a lone surrogate escape (\\ud800-\\udfff) in a string (at char {1})",
    ),
    "a lone low surrogate escape": (
        with_body_field("logged_in", "extra", b'"x\\udc00y"'),
        "decode",
        "input has a lone surrogate escape (\\ud800-\\udfff) in a string (at char {2})",
    ),
    "NaN": (
        with_body_field("logged_in", "extra", b"NaN"),
        "decode",
        "input has NaN or Infinity, which are not JSON numbers (at char {0})",
    ),
    "Infinity": (
        with_body_field("logged_in", "extra", b"Infinity"),
        "decode",
        "input has NaN or Infinity, which are not JSON numbers (at char {0})",
    ),
    "-Infinity": (
        with_body_field("logged_in", "extra", b"-Infinity"),
        "decode",
        "input has NaN or Infinity, which are not JSON numbers (at char {1})",
    ),
    "a float beyond a double": (
        with_body_field("logged_in", "extra", b"1e400"),
        "decode",
        "input has a number beyond the range of a double (at char {0})",
    ),
    "a JSON list": (
        b'[{"metadata": {"event_name": "logged_in"}}]',
        "decode",
        "input is a JSON array, not an object",
    ),
    "a JSON string": (b'"logged_in"', "decode", "input is a JSON string, not an object"),
    "a JSON number": (b"42", "decode", "input is a JSON number, not an object"),
    "a JSON null": (b"null", "decode", "input is a JSON null, not an object"),
    "empty bytes": (b"", "decode", "input is empty"),
    "only whitespace": (b" \n\t", "decode", "input is only whitespace"),
    "a tombstone": (None, "decode", "input has no value (a tombstone)"),
    "trailing bytes": (
        sample("logged_in") + b"}",
        "decode",
        "input is not JSON: unexpected content after document (at char {0})",
    ),
    "a byte order mark": (
        b"\xef\xbb\xbf" + sample("logged_in"),
        "decode",
        "input is not JSON: UTF-8 byte order mark (BOM) is not supported (at char 0)",
    ),
    "body a list": (
        sample("logged_in").replace(b'"body":{', b'"body":[{', 1)[:-1] + b"]}",
        "unwrap",
        "body must be an object, got array",
    ),
    "body a string holding a list": (
        orjson.dumps({**orjson.loads(sample("logged_in")), "body": "[1, 2]"}),
        "unwrap",
        "body string holds a JSON array",
    ),
    "body a string holding a lone surrogate": (
        orjson.dumps({**orjson.loads(sample("logged_in")), "body": '{"a": "\\ud800"}'}),
        "unwrap",
        "body string has a lone surrogate escape (\\ud800-\\udfff) in a string (at char 7)",
    ),
}


def _expected(raw: bytes | None, reason: str) -> str:
    """The reason with {0}, {1}, {2} read as the hostile part's offset (+1, +2) in `raw`."""
    if raw is None or "{" not in reason:
        return reason
    at = raw.find(b'"extra":') + len(b'"extra":')
    if reason.endswith("offset {0})"):  # the offending byte inside the string
        at = next(i for i in range(at, len(raw)) if raw[i] >= 0x80)
        return reason.format(at)
    if "trailing" in reason or "after document" in reason:
        return reason.format(len(raw) - 1)
    return reason.format(at, at + 1, at + 2, depth=at + 1023)  # just past the 1,025th "[" (2 are above)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(HOSTILE), ids=str)
def test_each_hostile_input_is_a_mapping_error_with_a_one_line_reason(mode: str, case: str) -> None:
    raw, stage, reason = HOSTILE[case]
    err = refused(raw, mode)
    assert (err.stage, err.reason) == (stage, _expected(raw, reason))
    assert "\n" not in err.reason and len(err.reason) <= 300


@pytest.mark.parametrize("mode", MODES)
def test_a_field_nested_1000_deep_decodes_and_is_dropped_or_refused_by_the_carry(mode: str) -> None:
    # 1,000 + the wrapper's 2 levels is within orjson's 1,024; Instructure's mapping never reads the
    # field, the extended carry refuses anything nested deeper than 32 levels, naming the field only.
    raw = with_body_field("logged_in", "extra", b"[" * 1000 + b"]" * 1000)
    if mode == "instructure":
        assert Transformer(mappings=mode).transform(raw).event["type"] == "SessionEvent"
    else:
        err = refused(raw, mode)
        assert (err.stage, err.reason, err.field) == (
            "map",
            "body.extra: nested deeper than 32 levels",
            "body.extra",
        )


@pytest.mark.parametrize("mode", MODES)
def test_a_duplicate_key_keeps_its_last_value_as_documented(mode: str) -> None:
    # docs/security.md: duplicate keys are not refused; the last one wins, as orjson decodes them.
    raw = sample("logged_in").replace(
        b'"event_name":"logged_in"', b'"event_name":"logged_in","event_name":"logged_out"'
    )
    assert raw.count(b'"event_name"') == 2
    out = Transformer(mappings=mode).transform(raw)
    assert (out.event_name, out.event["action"]) == ("logged_out", "LoggedOut")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "literal",
    [b'"' + b"x" * 10_000_000 + b'"', b"[" + b"0," * 999_999 + b"0]", b"[" + b"{}," * 300_000 + b"{}]"],
    ids=["a 10 MB string", "an array of 1,000,000 numbers", "an array of 300,000 objects"],
)
def test_huge_fields_map_in_bounded_time(mode: str, literal: bytes) -> None:
    # Without a size bound (the transform command has none; the worker refuses records over
    # processor.max_record_bytes before decoding), a huge field costs time linear in its size.
    raw = with_body_field("logged_in", "extra", literal)
    t0 = time.perf_counter()
    out = Transformer(mappings=mode).transform(raw)
    orjson.dumps(out.envelope)
    assert time.perf_counter() - t0 < 5
    carried = out.event["object"].get("extensions", {}).get("com.instructure.canvas", {})
    assert ("extra" in carried) == (mode == "extended" and literal[:2] != b"[{")
