"""mappings/caliper_rules.py agrees with the reference rule tables in ../shared/caliper-1.1/rules."""

from __future__ import annotations

import json

import pytest

from mappings import caliper_rules as R
from mappings import validator
from tests.conftest import shared_dir


def _rules(name: str) -> dict | list:
    return json.loads((shared_dir("caliper-1.1", "rules") / name).read_text())


def _split(s: str | None) -> set[str]:
    return set((s or "").split())


def _types_of(prop: dict | None) -> set[str]:
    """'Person | SoftwareApplication | IRI| text...' -> {'Person', 'SoftwareApplication'}."""
    if not prop:
        return set()
    names = set()
    for part in prop["type"].split("|"):
        word = part.strip()
        if word == "IRI" or not word.isidentifier():
            break
        names.add(word)
    return names


def test_actions():
    ref = _rules("actions_v1p1_appendixA.json")
    assert len(R.ACTIONS) == len(set(R.ACTIONS)) == 64
    assert set(R.ACTIONS) == set(ref)


def test_event_types_and_actions():
    ref = _rules("event_rules_v1p1.json")["events"]
    assert set(R.EVENT_TYPES) == set(ref)
    for name, rule in ref.items():
        mine = R.EVENT_TYPES[name]
        assert _split(mine["actions"]) == set(rule["actions"]), name
        assert _split(mine.get("deprecated_actions")) == set(rule["deprecated_actions"]), name
        assert bool(mine.get("deprecated_event")) == rule["deprecated_event"], name


def test_event_participant_types():
    ref = _rules("event_rules_v1p1.json")["events"]
    for name, rule in ref.items():
        mine = R.EVENT_TYPES[name]
        props = rule.get("prop_types") or {}
        assert _split(mine["actors"]) == set(rule["actors"]), name
        assert _split(mine["objects"]) == set(rule["objects"]), name
        generated = set(rule["generated"]) or _types_of(props.get("generated")) or {"Entity"}
        assert _split(mine["generated"]) == generated, name
        target = props.get("target")
        if target and target["disposition"] == "Not Applicable":
            assert mine.get("no_target") is True and "targets" not in mine, name
        else:
            targets = set(rule["targets"]) or _types_of(target) or {"Entity"}
            assert _split(mine["targets"]) == targets, name
        referrers = _types_of(props.get("referrer")) or {"Entity"}
        assert _split(mine.get("referrers", R.EVENT_PROPERTY_TYPES["referrer"])) == referrers, name
        for prop in ("edApp", "group", "membership", "session", "federatedSession"):
            if prop in props:
                assert {R.EVENT_PROPERTY_TYPES[prop]} == _types_of(props[prop]), (name, prop)
        constraints = {a: (c["actor"], c["object"]) for a, c in rule.get("action_constraints", {}).items()}
        mine_constraints = {a: ([x], [o]) for a, (x, o) in mine.get("action_constraints", {}).items()}
        assert mine_constraints == constraints, name
        assert ("navigatedFrom" in _split(mine.get("extra_properties"))) == (
            "navigatedFrom" in rule.get("deprecated_properties", [])
        ), name


def test_type_hierarchy():
    ref = _rules("type_hierarchy_v1p1.json")
    events = {t for t in ref["supertypes"] if t.endswith("Event")}
    assert events == set(R.EVENT_TYPES)
    assert all(ref["supertypes"][t] == ["Event"] for t in events - {"Event"})
    entities = {t: set(s) for t, s in ref["supertypes"].items() if t not in events}
    assert {t: set(s) for t, s in R.SUPERTYPES.items()} == entities
    for t, ancestors in ref["ancestors"].items():
        if t not in events:
            assert validator._IS_A[t] == {t, *ancestors}, t


def test_roles_and_statuses():
    ref = _rules("roles_status_v1p1.json")
    assert len(R.ROLES) == len(set(R.ROLES)) == 57
    assert set(R.ROLES) == set(ref["roles_spec"])
    # The JSON-LD context lacks Manager#Manager, which the specification lists.
    assert set(R.ROLES) - set(ref["roles_context"]) == {"Manager#Manager"}
    assert set(R.STATUSES) == set(ref["status_spec"])


@pytest.mark.parametrize("t", sorted(R.SUPERTYPES))
def test_every_entity_type_has_properties_and_known_supertypes(t):
    # Table hygiene that needs no reference files: every supertype is itself defined.
    assert all(s in R.SUPERTYPES for s in R.SUPERTYPES[t])
    assert "id" in validator._STRICT_ENTITY_PROPS[t] or t == "TextPositionSelector"
