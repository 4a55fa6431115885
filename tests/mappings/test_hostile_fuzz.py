"""Property tests: for any bytes, `Transformer.transform` returns an Output or raises MappingError.

Four sources of input: random bytes, random JSON-ish events (with integers beyond 64 bits,
NaN and lone surrogates in their encodings), byte-level mutations of the real samples, and the
samples with a random value put into their body. Besides "no other exception", each case checks
that an envelope is JSON that orjson writes and reads back, that a reason is one short line,
and, against the standard library's decoder as an independent reader, that no input with an
integer beyond 64 bits ever maps.

`FUZZ_EXAMPLES` sets the examples per test (200 in `make test`; `make fuzz` runs 25,000 each, so
100,000 in all); `--hypothesis-show-statistics` reports how many cases ran.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.errors import STAGES, MappingError
from mappings.registry import MODES, default_registry
from mappings.transform import Output, Transformer

REPO = Path(__file__).resolve().parents[2]
SAMPLES = [
    line
    for path in (
        REPO / "mappings" / "samples" / "canvas_events.jsonl",
        REPO / "tests/bench/canvas_sample_events.jsonl",
    )
    for line in path.read_bytes().splitlines()
    if line.strip()
]
NAMES = sorted({spec.event_name for mode in MODES for spec in default_registry(mode).specs()})
TRANSFORMERS = [Transformer(mappings=m, strict=s) for m in MODES for s in (False, True)]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a shared machine's pauses are no failure; the time bound is checked below
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=EXAMPLES <= 200,  # the same cases on every `make test` run; `make fuzz` explores
)
SLOW_S = 2.0  # one input taking longer than this is a stall


def _wide_by_stdlib(raw: bytes) -> bool | None:
    """Whether the standard library reads an integer outside 64 bits in `raw` (None: it cannot read it)."""
    found = False

    def parse_int(text: str) -> int:
        nonlocal found
        digits = text.lstrip("-")
        if len(digits) > 20 or not -(2**63) <= int(text) <= 2**64 - 1:
            found = True
        return 0

    try:
        json.loads(raw.decode("utf-8"), parse_int=parse_int)
    except (ValueError, RecursionError):
        return None
    return found


def check(raw: bytes) -> None:
    """The property every input must meet, in every mapping mode."""
    wide = None
    for transformer in TRANSFORMERS:
        t0 = time.perf_counter()
        try:
            out = transformer.transform(raw)
        except MappingError as exc:
            assert exc.stage in STAGES, exc.stage
            assert isinstance(exc.reason, str) and exc.reason and "\n" not in exc.reason
            assert len(exc.reason) <= 300
        else:
            assert isinstance(out, Output)
            text = orjson.dumps(out.envelope)
            assert orjson.loads(text) == json.loads(text)  # two readers agree: plain JSON
            if wide is None:
                wide = _wide_by_stdlib(raw)
            assert not wide, "an input with an integer beyond 64 bits was mapped"
        assert time.perf_counter() - t0 < SLOW_S


# ---- strategies ----

WIDE_INTS = st.one_of(st.integers(min_value=2**64, max_value=10**40), st.integers(max_value=-(2**63) - 1))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    WIDE_INTS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),  # may hold lone surrogates: json.dumps writes them as \ud800 escapes
    st.sampled_from(["10000000000417", "2026-09-07T14:03:11.250Z", "https://canvas.example.edu/x"]),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)


def _dumps(value: object) -> bytes:
    # The standard library writes what orjson would refuse to: big integers, NaN, lone surrogates.
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def events(draw) -> bytes:
    """A wrapper with a real event name (or not), random metadata and body values."""
    meta = draw(
        st.dictionaries(st.sampled_from(["user_id", "context_id", "event_time", "x"]), JSONISH, max_size=4)
    )
    meta["event_name"] = draw(st.one_of(st.sampled_from(NAMES), JSONISH))
    body = draw(st.one_of(st.dictionaries(st.text(max_size=20), JSONISH, max_size=8), JSONISH))
    key = draw(st.sampled_from(["metadata", "attributes"]))
    return _dumps({key: meta, draw(st.sampled_from(["body", "data"])): body})


@st.composite
def mutations(draw) -> bytes:
    """A real sample with a few byte-level edits: flip, delete, insert, duplicate, truncate."""
    raw = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate", "digits"]))
        i = draw(st.integers(0, len(raw)))
        if op == "flip" and i < len(raw):
            raw[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del raw[i : i + draw(st.integers(1, 20))]
        elif op == "insert":
            raw[i:i] = draw(st.binary(min_size=1, max_size=12))
        elif op == "duplicate":
            raw[i:i] = raw[i : i + draw(st.integers(1, 200))]
        elif op == "truncate":
            del raw[i:]
        elif op == "digits":  # lengthen a number: the 64-bit edge is where orjson changes type
            raw[i:i] = b"9" * draw(st.integers(1, 30))
    return bytes(raw)


@st.composite
def planted(draw) -> bytes:
    """A real sample with one body value replaced (or added) by a random JSON-ish value."""
    obj = orjson.loads(draw(st.sampled_from(SAMPLES)))
    body = obj["body"]
    keys = [*body, "extra"]
    body[draw(st.sampled_from(keys))] = "__PLANTED__"
    return orjson.dumps(obj).replace(b'"__PLANTED__"', _dumps(draw(JSONISH)), 1)


# ---- the properties ----


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_escape_as_another_exception(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(events())
def test_random_events_never_escape_as_another_exception(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(mutations())
def test_mutated_samples_never_escape_as_another_exception(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(planted())
def test_samples_with_a_random_value_never_escape_as_another_exception(raw: bytes) -> None:
    check(raw)
