"""Instructure's documented Caliper examples: all pass tolerant mode; strict mode fails exactly on
the documented deviations from Caliper 1.1, listed here by hand."""

from __future__ import annotations

import json

import pytest

from mappings.validator import validate_envelope
from tests.conftest import SHARED, shared_dir

DOCS = ("canvas-docs", "caliper")

# Every documented example except asset_accessed (one example per file): the paths at which the
# strict validator must fail it, read off the examples.
STRICT_FAILURES: dict[str, set[str]] = {
    # MAPPING-RULES decision 9
    "discussion_topic_created": {"data[0].action"},  # ThreadEvent / Created
    "quiz_submitted": {"data[0].object.type"},  # AssessmentEvent with an Attempt object
    "submission_created": {
        "data[0].object.type",  # AssignableEvent with an Attempt object
        "data[0].object.body",  # Attempt has no body in 1.1
    },
    # Spec properties placed on entity types that do not have them
    "assignment_override_created": {"data[0].object.dateToShow", "data[0].object.dateToSubmit"},
    "assignment_override_updated": {"data[0].object.dateToShow", "data[0].object.dateToSubmit"},
    "enrollment_state_created": {"data[0].object.startedAtTime"},
    "group_created": {"data[0].object.isPartOf"},
    "group_membership_created": {"data[0].object.organization.isPartOf"},
    "syllabus_updated": {"data[0].object.body"},
}
PASS_STRICT = {
    "assignment_created",
    "assignment_updated",
    "attachment_created",
    "attachment_deleted",
    "attachment_updated",
    "course_created",
    "course_updated",
    "discussion_entry_created",
    "enrollment_created",
    "enrollment_state_updated",
    "enrollment_updated",
    "grade_change",
    "group_category_created",
    "logged_in",
    "logged_out",
    "quiz_created",
    "quiz_updated",
    "submission_updated",
    "user_account_association_created",
    "wiki_page_created",
    "wiki_page_deleted",
    "wiki_page_updated",
}


def _names() -> list[str]:
    folder = SHARED.joinpath(*DOCS)
    names = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
    return names or ["(reference examples absent)"]


def _examples(name: str) -> list[dict]:
    doc = json.loads((shared_dir(*DOCS) / f"{name}.json").read_text())
    return [ex["payload"] for ex in doc["examples"]]


def test_every_documented_event_is_listed():
    folder = shared_dir(*DOCS)
    assert {p.stem for p in folder.glob("*.json")} == set(STRICT_FAILURES) | PASS_STRICT | {"asset_accessed"}


@pytest.mark.parametrize("name", _names())
def test_documented_example_passes_tolerant(name):
    for payload in _examples(name):
        assert validate_envelope(payload, tolerant=True) == []


@pytest.mark.parametrize("name", [n for n in _names() if n != "asset_accessed"])  # 40 examples: below
def test_documented_example_strict_failures(name):
    [payload] = _examples(name)
    got = {v.path for v in validate_envelope(payload)}
    assert got == STRICT_FAILURES.get(name, set())


def test_discussion_topic_created_message_names_the_action():
    [payload] = _examples("discussion_topic_created")
    [v] = validate_envelope(payload)
    assert "'Created'" in v.message and "ThreadEvent" in v.message


def test_asset_accessed_strict_failures():
    examples = _examples("asset_accessed")
    assert len(examples) == 40
    entity_objects = sw_actors = 0
    for payload in examples:
        event = payload["data"][0]
        expected = set()
        if event["object"]["type"] == "Entity":  # NavigationEvent with a generic Entity object
            expected.add("data[0].object.type")
            entity_objects += 1
        if event["actor"]["type"] == "SoftwareApplication":  # no user: the application as actor
            expected.add("data[0].actor.type")
            sw_actors += 1
        assert {v.path for v in validate_envelope(payload)} == expected, event["object"]["id"]
    # 37 generic objects (the Page, assignment and Thread objects are typed), 4 user-less views.
    assert (entity_objects, sw_actors) == (37, 4)
