"""The 50 Canvas events Instructure does not map: each documented example in extended mode.

Expected types, actions and profile topics are written out here by hand from the design, not
read from the registry under test.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from mappings.errors import MappingError, UnmappedEventError
from mappings.registry import builtin_registry
from mappings.transform import Transformer
from mappings.validator import validate_envelope
from tests.conftest import shared_dir
from tests.extended.docs_examples import TYPO, doc, documented_names, example

# event -> (Caliper type, action, object type, profile)
EXPECTED = {
    "account_created": ("Event", "Created", "Organization", "basic"),
    "account_updated": ("Event", "Modified", "Organization", "basic"),
    "account_notification_created": ("Event", "Created", "Message", "basic"),
    "assignment_group_created": ("Event", "Created", "DigitalResourceCollection", "basic"),
    "assignment_group_updated": ("Event", "Modified", "DigitalResourceCollection", "basic"),
    "content_migration_started": ("Event", "Started", "Entity", "basic"),
    "content_migration_completed": ("Event", "Completed", "Entity", "basic"),
    "master_migration_started": ("Event", "Started", "Entity", "basic"),
    "conversation_created": ("Event", "Created", "Thread", "basic"),
    "conversation_forwarded": ("Event", "Modified", "Thread", "basic"),
    "conversation_message_created": ("MessageEvent", "Posted", "Message", "forum"),
    "course_completed": ("Event", "Completed", "CourseOffering", "basic"),
    "course_progress": ("Event", "Modified", "CourseOffering", "basic"),
    "course_grade_change": ("GradeEvent", "Graded", "Attempt", "grading"),
    "grade_override": ("GradeEvent", "Graded", "Attempt", "grading"),
    "final_grade_custom_status": ("Event", "Modified", "Score", "basic"),
    "submission_custom_grade_status": ("Event", "Modified", "Attempt", "basic"),
    "course_section_created": ("Event", "Created", "CourseSection", "basic"),
    "course_section_updated": ("Event", "Modified", "CourseSection", "basic"),
    "discussion_entry_submitted": ("AssignableEvent", "Submitted", "AssignableDigitalResource", "assignable"),
    "discussion_topic_updated": ("Event", "Modified", "Thread", "basic"),
    "group_category_updated": ("Event", "Modified", "Entity", "basic"),
    "group_updated": ("Event", "Modified", "Group", "basic"),
    "group_membership_updated": ("Event", "Modified", "Membership", "basic"),
    "learning_outcome_created": ("Event", "Created", "LearningObjective", "basic"),
    "learning_outcome_updated": ("Event", "Modified", "LearningObjective", "basic"),
    "learning_outcome_group_created": ("Event", "Created", "DigitalResourceCollection", "basic"),
    "learning_outcome_group_updated": ("Event", "Modified", "DigitalResourceCollection", "basic"),
    "learning_outcome_link_created": ("Event", "Created", "Entity", "basic"),
    "learning_outcome_link_updated": ("Event", "Modified", "Entity", "basic"),
    "learning_outcome_result_created": ("GradeEvent", "Graded", "Attempt", "grading"),
    "learning_outcome_result_updated": ("GradeEvent", "Graded", "Attempt", "grading"),
    "outcome_calculation_method_created": ("Event", "Created", "Entity", "basic"),
    "outcome_calculation_method_updated": ("Event", "Modified", "Entity", "basic"),
    "outcome_proficiency_created": ("Event", "Created", "Entity", "basic"),
    "outcome_proficiency_updated": ("Event", "Modified", "Entity", "basic"),
    "outcomes.retry_outcome_alignment_clone": ("Event", "Restarted", "Entity", "basic"),
    "lti_resource_link_created": ("Event", "Created", "DigitalResource", "basic"),
    "lti_resource_link_updated": ("Event", "Modified", "DigitalResource", "basic"),
    "module_created": ("Event", "Created", "DigitalResourceCollection", "basic"),
    "module_updated": ("Event", "Modified", "DigitalResourceCollection", "basic"),
    "module_item_created": ("Event", "Created", "DigitalResource", "basic"),
    "module_item_updated": ("Event", "Modified", "DigitalResource", "basic"),
    "plagiarism_resubmit": ("Event", "Submitted", "Attempt", "basic"),
    "rubric_assessed": ("GradeEvent", "Graded", "Attempt", "grading"),
    "sis_batch_created": ("Event", "Created", "Entity", "basic"),
    "sis_batch_updated": ("Event", "Modified", "Entity", "basic"),
    "submission_comment_created": ("MessageEvent", "Posted", "Message", "forum"),
    "user_created": ("Event", "Created", "Person", "basic"),
    "user_updated": ("Event", "Modified", "Person", "basic"),
}
# object ids, written out from the documented bodies (Instructure's URN scheme)
OBJECT_IDS = {
    "account_created": "urn:instructure:canvas:account:3",
    "course_section_created": "urn:instructure:canvas:course:565:section:1234567",
    "course_grade_change": "urn:instructure:canvas:course:2:grade:2",
    "grade_override": "urn:instructure:canvas:score:43",
    "module_item_created": "urn:instructure:canvas:content_tag:19587",
    "learning_outcome_created": "urn:instructure:canvas:learning_outcome:12345",
    "conversation_message_created": "urn:instructure:canvas:conversationMessage:45",
    "discussion_entry_submitted": "urn:instructure:canvas:assignment:649",
    "rubric_assessed": "urn:instructure:canvas:submission:77",
    "user_created": "urn:instructure:canvas:user:21070000000025999",
}

NAMES = sorted(EXPECTED)
EXTENDED = Transformer(mappings="extended")
EXTENDED_STRICT = Transformer(mappings="extended", strict=True)
INSTRUCTURE = Transformer()


def test_the_fifty_are_the_documented_canvas_only_events() -> None:
    assert len(EXPECTED) == 50
    assert documented_names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_example_maps_and_passes_strict_validation(name: str) -> None:
    for transformer in (EXTENDED, EXTENDED_STRICT):
        out = transformer.transform_obj(example(name))
        assert validate_envelope(out.envelope) == [], name  # strict rules, no tolerance
        event = out.envelope["data"][0]
        caliper_type, action, object_type, profile = EXPECTED[name]
        assert (event["type"], event["action"], event["object"]["type"]) == (
            caliper_type,
            action,
            object_type,
        )
        assert out.profile == profile
        assert event["object"]["id"].startswith("urn:instructure:canvas:")
        if name in OBJECT_IDS:
            assert event["object"]["id"] == OBJECT_IDS[name]


@pytest.mark.parametrize("name", NAMES)
def test_registry_profile_topic(name: str) -> None:
    spec = builtin_registry("extended").lookup(name)
    assert (spec.caliper_type, spec.action, spec.object_type, spec.profile) == EXPECTED[name]
    assert spec.mode == "extended" and spec.why


@pytest.mark.parametrize("name", NAMES)
def test_instructure_mode_does_not_map_them(name: str) -> None:
    with pytest.raises(UnmappedEventError):
        INSTRUCTURE.transform_obj(example(name))


def test_documented_typo_is_a_map_error_naming_the_field() -> None:
    with pytest.raises(MappingError) as err:
        EXTENDED.transform_obj(example(TYPO[0], fix_typo=False))
    assert err.value.stage == "map" and err.value.field == "body." + TYPO[1]


def test_grade_override_example_as_documented_goes_to_grade_change() -> None:
    """Its payload says event_name grade_change (SOURCES.md): that mapping needs a submission."""
    payload = doc("grade_override")["examples"][0]["payload"]
    assert payload["metadata"]["event_name"] == "grade_change"
    with pytest.raises(MappingError, match="submission_id"):
        EXTENDED.transform_obj(payload)


def _utc(text: str) -> str | None:
    """The Caliper form of a Canvas timestamp, computed here with the standard library."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [] if value is None else [value]


def _found(leaf: object, text: str, values: list[object]) -> bool:
    if isinstance(leaf, str):
        utc = _utc(leaf) if "T" in leaf and leaf[:4].isdigit() else None
        return json.dumps(leaf)[1:-1] in text or (utc is not None and utc in text)
    if isinstance(leaf, bool):
        return any(v is leaf for v in values)
    # a number id is carried as its decimal text (string and number ids give one output)
    # or the last part of an entity's URN (a reference such as subOrganizationOf)
    return (
        any(type(v) in (int, float) and v == leaf for v in values)
        or str(leaf) in values
        or any(isinstance(v, str) and v.startswith("urn:") and v.endswith(f":{leaf}") for v in values)
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_documented_body_value_is_carried(name: str) -> None:
    payload = example(name)
    event = EXTENDED_STRICT.transform_obj(payload).envelope["data"][0]
    text = json.dumps(event)
    values = _leaves(event)
    missing = [
        (key, leaf)
        for key, value in payload["body"].items()
        for leaf in _leaves(value)
        if not _found(leaf, text, values)
    ]
    assert missing == [], name


def test_job_generated_message_is_a_generic_event_on_basic() -> None:
    payload = example("conversation_message_created")
    meta = payload["metadata"]
    for key in ("user_id", "user_login", "user_sis_id", "request_id", "session_id", "hostname"):
        meta.pop(key, None)
    meta["job_id"], meta["job_tag"] = "4401", "Conversation#deliver"
    payload["body"].pop("author_id")
    out = EXTENDED.transform_obj(payload)
    event = out.envelope["data"][0]
    assert (event["type"], event["actor"]["type"], out.profile) == ("Event", "SoftwareApplication", "basic")
    assert validate_envelope(out.envelope) == []


def test_unknown_field_is_carried_in_extended_mode_only() -> None:
    payload = example("module_created")
    payload["body"]["completion_requirements"] = [{"type": "must_view", "min_score": None}]
    payload["body"]["prerequisite_module_ids"] = "13"
    ext = EXTENDED.transform_obj(payload).envelope["data"][0]["object"]["extensions"][
        "com.instructure.canvas"
    ]
    assert ext["completion_requirements"] == [{"type": "must_view"}]  # nulls are left out
    assert ext["prerequisite_module_ids"] == "13"


def _documented_pairs() -> list[dict]:
    folder = shared_dir("canvas-docs", "canvas")
    return [
        example["payload"]
        for path in sorted(folder.glob("*.json"))
        for example in json.loads(path.read_text())["examples"]
    ]


def test_the_32_documented_examples_are_unchanged_in_extended_mode() -> None:
    payloads = _documented_pairs()
    assert len(payloads) > 32
    for strict in (False, True):
        plain, extended = Transformer(strict=strict), Transformer(strict=strict, mappings="extended")
        for payload in payloads:
            ours = plain.transform_obj(copy.deepcopy(payload)).envelope
            theirs = extended.transform_obj(copy.deepcopy(payload)).envelope
            ours.pop("sendTime"), theirs.pop("sendTime")
            assert theirs == ours, payload["metadata"]["event_name"]


def test_unknown_field_of_one_of_the_32_is_carried_in_extended_mode_only() -> None:
    payload = next(p for p in _documented_pairs() if p["metadata"]["event_name"] == "wiki_page_created")
    payload["body"]["editing_roles"] = "teachers,students"
    extended = Transformer(mappings="extended").transform_obj(copy.deepcopy(payload))
    plain = INSTRUCTURE.transform_obj(copy.deepcopy(payload))
    assert (
        extended.event["object"]["extensions"]["com.instructure.canvas"]["editing_roles"]
        == "teachers,students"
    )
    assert "editing_roles" not in json.dumps(plain.envelope)
