"""Hostile input through `Transformer.transform`: each case is a MappingError with a clear reason.

The inputs are built from a real sample event with one hostile part put in as raw bytes, so the
rest of the event is valid and the hostile part alone decides the outcome.
"""

from __future__ import annotations

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
