"""Envelope -> Avro -> envelope gives back exactly the JSON envelope, for every mapping.

For each Canvas event of the registry, in mode `instructure` and `extended`, default and strict
form, every envelope its inputs give (the bundled samples, Instructure's documented examples and
the wild captures in ../shared when present) is encoded twice: by the project's encoder
(`codec.encode`) and by fastavro's own `schemaless_writer` from the record form (`codec.to_record`).
Both byte strings must be equal, and fastavro's `schemaless_reader` must read them back, through
`codec.from_record`, to the JSON envelope.

"Exactly" is compared as JSON values: JSON-LD objects are unordered, so key order is not compared
(the decoder puts the properties kept in `other` after the typed ones), but everything else is:
1 and 1.0 and True are three different values here (canonical JSON text with sorted keys), though
Python's `==` calls them equal. The Caliper 1.1 test vectors and the wild envelopes, which no mapping
of ours produced, must survive too.

Privacy policies are a parameter: every case runs with no policy, the default one and `minimal`
(hashed ids, dropped fields, cut URLs), as the worker would emit them.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path

import fastavro
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.errors import MappingError
from mappings.privacy import build_policy
from mappings.registry import MODES, builtin_registry
from mappings.transform import Transformer
from processor.avro import codec
from tests.conftest import SHARED, shared_dir
from tests.extended.docs_examples import documented_names, example

# (name, privacy settings) of the policies each case runs with; None = the mapping alone.
POLICIES: list[tuple[str, dict | None]] = [
    ("no-policy", None),
    ("instructure", {}),
    ("minimal", {"preset": "minimal", "key": "a-key-for-the-lossless-tests"}),
]

SAMPLES: list[bytes] = [
    line.encode()
    for line in (resources.files("mappings") / "samples" / "canvas_events.jsonl").read_text().splitlines()
    if line.strip()
]
FORMS = [(mode, strict) for mode in MODES for strict in (False, True)]
TRANSFORMERS = {
    (mode, strict, name): Transformer(
        mappings=mode, strict=strict, policy=None if settings_ is None else build_policy(settings_)
    )
    for mode, strict in FORMS
    for name, settings_ in POLICIES
}


def canonical(value: object) -> bytes:
    """JSON text with sorted keys: equal exactly when the two JSON values are equal."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def assert_lossless(envelope: dict) -> None:
    """Both encoders agree byte for byte, and fastavro reads the envelope back unchanged."""
    expected = canonical(envelope)  # the JSON the JSON output would carry
    ours = codec.encode(envelope)
    theirs = io.BytesIO()
    fastavro.schemaless_writer(theirs, codec.parsed_schema(), codec.to_record(envelope))
    assert theirs.getvalue() == ours, "fastavro encodes the record form differently from codec.encode"
    record = fastavro.schemaless_reader(io.BytesIO(ours), codec.parsed_schema())
    assert canonical(codec.from_record(record)) == expected
    assert canonical(codec.decode(ours)) == expected


def _event_name(payload: dict) -> str | None:
    meta = payload.get("metadata") or payload.get("attributes") or {}
    return meta.get("event_name")


@cache
def _documented() -> dict[str, list[bytes]]:
    """Canvas inputs of ../shared by event name: documented examples and wild captures."""
    found: dict[str, list[bytes]] = {}
    if not SHARED.exists():
        return found
    for path in sorted((SHARED / "canvas-docs" / "canvas").glob("*.json")):
        doc = json.loads(path.read_text())
        found[doc["name"]] = [orjson.dumps(example["payload"]) for example in doc["examples"]]
    for name in documented_names():  # the 50 extended ones, their documented quirks fixed
        found.setdefault(name, []).append(orjson.dumps(example(name)))
    for path in sorted((SHARED / "wild-samples" / "castor-raw-canvas").rglob("*.json")):
        payload = json.loads(path.read_text())
        name = _event_name(payload)
        if name:
            found.setdefault(name, []).append(orjson.dumps(payload))
    return found


def _inputs(name: str) -> list[bytes]:
    return [raw for raw in SAMPLES if _event_name(orjson.loads(raw)) == name] + _documented().get(name, [])


CASES = [
    pytest.param(
        mode, strict, spec.event_name, id=f"{mode}-{'strict' if strict else 'default'}-{spec.event_name}"
    )
    for mode, strict in FORMS
    for spec in builtin_registry(mode).specs()
]


def _envelopes(mode: str, strict: bool, name: str, policy: str) -> Iterator[dict]:
    transformer = TRANSFORMERS[(mode, strict, policy)]
    for raw in _inputs(name):
        try:
            yield transformer.transform(raw).envelope
        except MappingError:  # an input that does not map has no envelope to keep
            continue


@pytest.mark.parametrize("policy", [p[0] for p in POLICIES])
@pytest.mark.parametrize("mode, strict, name", CASES)
def test_every_mapping_round_trips_exactly(mode: str, strict: bool, name: str, policy: str) -> None:
    envelopes = list(_envelopes(mode, strict, name, policy))
    if not envelopes:
        if not SHARED.exists():
            pytest.skip(f"no bundled sample of {name}; its documented examples are in {SHARED}, absent")
        pytest.fail(f"no input of {name} maps in mode {mode}: the test would prove nothing")
    for envelope in envelopes:
        assert_lossless(envelope)
        record = fastavro.schemaless_reader(io.BytesIO(codec.encode(envelope)), codec.parsed_schema())
        assert _leftovers(record) == [], "a property our mappings emit has no typed field in the schema"


def _leftovers(value: object, path: str = "") -> list[str]:
    """Where a record's `other` is used: the schema should type everything the mappings emit, so that
    warehouse columns hold it (`other` keeps the rest lossless, but as JSON text)."""
    found = []
    if isinstance(value, dict):
        if value.get("other") is not None:
            found.append(f"{path or 'envelope'}: {value['other'][:120]}")
        for key, inner in value.items():
            found += _leftovers(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _leftovers(inner, f"{path}[{i}]")
    return found


def test_every_bundled_sample_keeps_its_types() -> None:
    """A control for `canonical`: Python's == would call these equal, the comparison must not."""
    assert canonical({"a": 1}) != canonical({"a": 1.0}) != canonical({"a": True})
    envelope = Transformer().transform(SAMPLES[0]).envelope
    envelope["data"][0]["extensions"] = {"n": 1.0, "b": True, "z": -0.0}
    assert_lossless(envelope)


def _caliper_documents() -> list[Path]:
    folders = [
        shared_dir("caliper-1.1", "fixtures"),
        shared_dir("caliper-1.1", "fixtures-extended"),
        shared_dir("wild-samples", "udp-caliper-envelopes"),
        shared_dir("canvas-docs", "caliper"),
    ]
    return [p for folder in folders for p in sorted(folder.rglob("*.json"))]


def test_caliper_documents_we_did_not_make_round_trip() -> None:
    """IMS's 1.1 test vectors, Instructure's documented envelopes and envelopes seen in the wild:
    anything an envelope may hold, and events or entities in an envelope's place."""
    count = 0
    for path in _caliper_documents():
        doc = json.loads(path.read_text())
        docs = doc if isinstance(doc, list) else [doc]
        for item in docs:
            if isinstance(item, dict) and "examples" in item:  # canvas-docs: {"examples": [{"payload"}]}
                items = [e["payload"] for e in item["examples"]]
            else:
                items = [item]
            for value in items:
                envelope = value if isinstance(value, dict) and "data" in value else {"data": [value]}
                if not isinstance(envelope.get("data"), list) or not all(
                    isinstance(e, dict) for e in envelope["data"]
                ):
                    envelope = {"sensor": "urn:x", "other": value}
                assert_lossless(envelope)
                count += 1
    assert count >= 300  # 80 + 129 IMS vectors, 20 wild envelopes, 71 documented ones


# --- generated events: mutations of the samples ---------------------------------------------------

TIME_LIKE = ["", "0", "2019-11-01T19:11:01.163Z", "2019-11-01T19:11:01Z", "0000-01-01T00:00:00.000Z"]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(),  # NaN and infinities too: the JSON output writes them as null, and so must Avro
    st.text(max_size=16),
    st.sampled_from(TIME_LIKE),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@cache
def _bases() -> list[dict]:
    """The inputs mutated: the bundled samples, plus the extended examples when ../shared has them."""
    bases = [orjson.loads(raw) for raw in SAMPLES]
    if SHARED.exists():
        bases += [example(name) for name in documented_names()]
    return bases


# Per body field: mostly kept (so that most variants still map), else a new value, else dropped.
FIELD_CHANGES = ("keep",) * 12 + ("value",) * 3 + ("drop",)


@st.composite
def mutated_events(draw) -> tuple[tuple[str, bool], dict]:
    """A form and a variant of an input its mode maps: random values in Canvas fields and new ones."""
    form = draw(st.sampled_from(FORMS))
    registry = TRANSFORMERS[(*form, "no-policy")].registry
    payload = copy.deepcopy(draw(st.sampled_from([b for b in _bases() if _event_name(b) in registry])))
    body = payload.setdefault("body", {})
    for key in list(body):
        change = draw(st.sampled_from(FIELD_CHANGES))
        if change == "value":
            body[key] = draw(json_values)
        elif change == "drop":
            del body[key]
    for key, value in draw(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=3)).items():
        body.setdefault(key, value)  # fields Canvas might send tomorrow: extended mode carries them
    meta = payload["metadata"]
    for key in draw(st.lists(st.sampled_from(sorted(meta)), max_size=2, unique=True)):
        if key != "event_name":
            meta[key] = draw(json_values)
    return form, payload


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated_events())
def test_generated_events_round_trip_exactly(case: tuple[tuple[str, bool], dict]) -> None:
    form, event = case
    for policy, _settings in POLICIES:
        try:
            envelope = TRANSFORMERS[(*form, policy)].transform_obj(copy.deepcopy(event)).envelope
        except MappingError:
            continue
        assert_lossless(envelope)
