"""The official Caliper 1.1 release fixtures pass; mutations of them fail, naming the field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mappings.validator import Violation, is_event, validate_entity, validate_envelope, validate_event
from tests.conftest import SHARED, shared_dir

FIXTURES = ("caliper-1.1", "fixtures")


def _names(prefix: str = "") -> list[str]:
    folder = SHARED.joinpath(*FIXTURES)
    names = sorted(p.name for p in folder.glob(f"{prefix}*.json")) if folder.is_dir() else []
    return names or ["(reference fixtures absent)"]


def _load(name: str) -> dict:
    return json.loads((shared_dir(*FIXTURES) / name).read_text())


def _as_envelope(doc: dict) -> dict:
    """Envelope fixtures as they are; bare events and entities in a minimal envelope."""
    if "dataVersion" in doc:
        return doc
    return {
        "sensor": "https://canvas.example.edu/sensors/1",
        "sendTime": "2025-10-02T09:30:16.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "data": [doc],
    }


def test_fixture_folder_has_the_release_set():
    folder: Path = shared_dir(*FIXTURES)
    assert len(list(folder.glob("*.json"))) == 80


@pytest.mark.parametrize("name", _names())
def test_fixture_passes(name):
    doc = _load(name)
    assert validate_envelope(_as_envelope(doc)) == []
    if "dataVersion" in doc:
        return
    # The bare form through the functions made for it.
    if is_event(doc):
        assert validate_event(doc) == []
    else:
        assert validate_entity(doc) == []


def _find(violations: list[Violation], path: str, *words: str) -> None:
    hits = [v for v in violations if v.path == path and all(w in v.message for w in words)]
    assert hits, f"expected a violation at {path} mentioning {words}, got {[str(v) for v in violations]}"


# --- mutations of every event, in envelope and bare fixtures ---------------------------------------


def _events(env: dict) -> list[tuple[int, dict]]:
    return [(i, item) for i, item in enumerate(env["data"]) if is_event(item)]


def _wrong_action(event_type: str) -> str:
    # An Appendix A action that the type does not allow (the generic Event allows them all).
    return "Viewed" if event_type in ("GradeEvent", "OutcomeEvent") else "Graded"


EVENT_MUTATIONS: dict[str, tuple[Callable[[dict], None], str, tuple[str, ...]]] = {
    "missing actor": (lambda e: e.pop("actor"), "actor", ("required",)),
    "missing eventTime": (lambda e: e.pop("eventTime"), "eventTime", ("required",)),
    "missing @context": (lambda e: e.pop("@context"), "@context", ("required",)),
    "bad uuid": (lambda e: e.update(id="urn:uuid:1234-not-a-uuid"), "id", ("urn:uuid",)),
    "id not a urn": (lambda e: e.update(id="https://example.edu/events/1"), "id", ("urn:uuid",)),
    "null eventTime": (lambda e: e.update(eventTime=None), "eventTime", ("null",)),
    "null in extensions": (
        lambda e: e.update(extensions={"edu.example": {"x": None}}),
        "extensions.edu.example.x",
        ("null",),
    ),
    "time without ms": (lambda e: e.update(eventTime="2016-11-15T10:15:00Z"), "eventTime", ("eventTime",)),
    "time with offset": (
        lambda e: e.update(eventTime="2016-11-15T10:15:00.000-05:00"),
        "eventTime",
        ("eventTime",),
    ),
    "impossible time": (
        lambda e: e.update(eventTime="2016-02-30T10:15:00.000Z"),
        "eventTime",
        ("real date",),
    ),
    "custom property": (lambda e: e.update(courseCode="BIO-101"), "courseCode", ("extensions",)),
}


@pytest.mark.parametrize("mutation", sorted(EVENT_MUTATIONS))
@pytest.mark.parametrize("name", [n for n in _names() if "Event" in n])
def test_event_mutation_fails(name, mutation):
    env = copy.deepcopy(_as_envelope(_load(name)))
    events = _events(env)
    assert events, name
    mutate, field, words = EVENT_MUTATIONS[mutation]
    for _i, ev in events:
        mutate(ev)
    found = validate_envelope(env, tolerant=True)
    for i, _ev in events:
        _find(found, f"data[{i}].{field}", *words)


@pytest.mark.parametrize("name", [n for n in _names() if "Event" in n])
def test_wrong_action_fails(name):
    env = copy.deepcopy(_as_envelope(_load(name)))
    events = [(i, ev) for i, ev in _events(env) if ev["type"] != "Event"]
    if not events:
        pytest.skip("generic Event accepts every action")
    for _i, ev in events:
        ev["action"] = _wrong_action(ev["type"])
    found = validate_envelope(env, tolerant=True)
    for i, ev in events:
        _find(found, f"data[{i}].action", ev["action"], ev["type"], "not allowed")


@pytest.mark.parametrize("name", [n for n in _names() if "Event" in n])
def test_unknown_action_fails(name):
    env = copy.deepcopy(_as_envelope(_load(name)))
    for _i, ev in _events(env):
        ev["action"] = "Photosynthesized"
    found = validate_envelope(env)
    for i, _ev in _events(env):
        _find(found, f"data[{i}].action", "Photosynthesized")


# --- envelope-level mutations of every fixture -----------------------------------------------------

ENVELOPE_MUTATIONS: dict[str, tuple[Callable[[dict], None], str, tuple[str, ...]]] = {
    "extra key": (lambda e: e.update(topic="caliper.basic"), "topic", ("topic", "envelope")),
    "missing sendTime": (lambda e: e.pop("sendTime"), "sendTime", ("required",)),
    "missing data": (lambda e: e.pop("data"), "data", ("required",)),
    "null sensor": (lambda e: e.update(sensor=None), "sensor", ("null",)),
    "bad sendTime": (lambda e: e.update(sendTime="2016-11-15T10:15:01+00:00"), "sendTime", ("sendTime",)),
    "impossible sendTime": (
        lambda e: e.update(sendTime="2016-11-31T10:15:01.000Z"),
        "sendTime",
        ("real date",),
    ),
    "old dataVersion": (
        lambda e: e.update(dataVersion="http://purl.imsglobal.org/ctx/caliper/v1p0"),
        "dataVersion",
        ("v1p1",),
    ),
    "empty data": (lambda e: e.update(data=[]), "data", ("non-empty",)),
}


@pytest.mark.parametrize("mutation", sorted(ENVELOPE_MUTATIONS))
@pytest.mark.parametrize("name", _names())
def test_envelope_mutation_fails(name, mutation):
    env = copy.deepcopy(_as_envelope(_load(name)))
    mutate, field, words = ENVELOPE_MUTATIONS[mutation]
    mutate(env)
    _find(validate_envelope(env, tolerant=True), field, *words)


# --- entity-level mutations ------------------------------------------------------------------------


@pytest.mark.parametrize("name", _names("caliperEntity"))
def test_entity_mutations_fail(name):
    doc = _load(name)
    path = "data[0]"
    cases: list[tuple[Callable[[dict], None], str, tuple[str, ...]]] = [
        (lambda e: e.update(favouriteColour="green"), "favouriteColour", ("favouriteColour", "extensions")),
        (lambda e: e.update(description=None), "description", ("null",)),
        (lambda e: e.update(dateCreated="15/11/2016"), "dateCreated", ("dateCreated",)),
        (lambda e: e.update(type="Gadget"), "type", ("Gadget",)),
    ]
    if doc["type"] != "TextPositionSelector":
        cases.append((lambda e: e.pop("id"), "id", ("required",)))
    for mutate, field, words in cases:
        entity = copy.deepcopy(doc)
        mutate(entity)
        _find(validate_envelope(_as_envelope(entity)), f"{path}.{field}", *words)
        _find(validate_entity(entity), f"entity.{field}", *words)
