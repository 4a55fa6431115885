"""Property tests: for mutated and random Canvas events the only outcomes are an Output (valid in
its mode, when the validator is present) or a MappingError. Never a crash, never invalid Caliper."""

from __future__ import annotations

import copy
import json
from importlib import resources

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.errors import MappingError
from mappings.transform import Output, Transformer

try:
    from mappings.validator import validate_envelope
except ImportError:  # pragma: no cover - validator not installed
    validate_envelope = None

SAMPLES = [
    json.loads(line)
    for line in (resources.files("mappings") / "samples" / "canvas_events.jsonl").read_text().splitlines()
    if line.strip()
]
TRANSFORMERS = {False: Transformer(), True: Transformer(strict=True)}
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
timestamp_like = st.one_of(
    st.text(alphabet="0123456789-:TZ .+", max_size=30),
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S -0800")),
    st.from_regex(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?", fullmatch=True),
)
id_like = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=20),
    st.from_regex(r"[0-9]{1,20}", fullmatch=True),
)


def _check(raw: object, strict: bool) -> None:
    try:
        out = TRANSFORMERS[strict].transform_obj(raw)
    except MappingError as exc:
        assert exc.stage in ("decode", "unwrap", "unmapped", "map")
        assert isinstance(exc.reason, str) and exc.reason
        return
    assert isinstance(out, Output)
    orjson.dumps(out.envelope)  # always serialisable
    assert out.envelope["data"][0] is out.event
    if validate_envelope is not None:
        violations = validate_envelope(out.envelope, tolerant=not strict)
        assert violations == [], f"{out.event_name} strict={strict}: {[str(v) for v in violations]}"


@st.composite
def mutated_events(draw) -> dict:
    event = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        part = draw(st.sampled_from(["metadata", "body"]))
        target = event[part]
        keys = sorted(target)
        key = (
            draw(st.sampled_from(keys))
            if keys and draw(st.booleans())
            else draw(
                st.sampled_from(
                    [
                        "user_id",
                        "context_type",
                        "context_id",
                        "context_role",
                        "hostname",
                        "referrer",
                        "session_id",
                        "real_user_id",
                        "job_id",
                        "event_time",
                        "updated_at",
                        "due_at",
                        "asset_type",
                        "course_section_id",
                        "attempt",
                        "points_possible",
                        "text",
                    ]
                )
            )
        )
        action = draw(st.sampled_from(["drop", "null", "junk", "timestamp", "id"]))
        if action == "drop":
            target.pop(key, None)
        elif action == "null":
            target[key] = None
        elif action == "junk":
            target[key] = draw(json_values)
        elif action == "timestamp":
            target[key] = draw(timestamp_like)
        else:
            target[key] = draw(id_like)
    return event


@SETTINGS
@given(mutated_events(), st.booleans())
def test_mutated_events(event: dict, strict: bool) -> None:
    _check(event, strict)


@SETTINGS
@given(st.sampled_from(SAMPLES), json_values, st.booleans())
def test_junk_wrappers(event: dict, junk, strict: bool) -> None:
    for variant in (
        {"metadata": event["metadata"], "body": junk},
        {"metadata": junk, "body": event["body"]},
        {"attributes": event["metadata"], "data": json.dumps(junk)},
        junk,
    ):
        _check(variant, strict)


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes(raw: bytes) -> None:
    for transformer in TRANSFORMERS.values():
        try:
            transformer.transform(raw)
        except MappingError as exc:
            assert exc.stage in ("decode", "unwrap", "unmapped", "map")


@SETTINGS
@given(st.sampled_from(SAMPLES))
def test_same_bytes_same_id(event: dict) -> None:
    raw = orjson.dumps(event)
    assert TRANSFORMERS[False].transform(raw).event["id"] == TRANSFORMERS[True].transform(raw).event["id"]
