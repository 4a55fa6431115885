"""Actor, membership, envelope context: masquerading, user 0, jobs, every role, optional fields."""

from __future__ import annotations

import pytest

from mappings.transform import Transformer
from tests.mappings.canvas_builders import ACTOR, CANVAS, GROUP, JOB_META, canvas_event

DEFAULT = Transformer()
STRICT = Transformer(strict=True)
WIKI = {"wiki_page_id": "8801", "title": "Limits"}


def test_masquerading_keeps_the_acted_as_user_and_records_the_real_one() -> None:
    event = DEFAULT.transform_obj(canvas_event("wiki_page_updated", WIKI, real_user_id="20099")).event
    assert event["actor"]["id"] == "urn:instructure:canvas:user:20001"
    assert event["actor"]["extensions"][CANVAS] == {**ACTOR["extensions"][CANVAS], "real_user_id": "20099"}
    assert event["membership"]["member"] == {"id": "urn:instructure:canvas:user:20001", "type": "Person"}


def test_user_zero_for_a_request_without_any_user() -> None:
    raw = canvas_event(
        "grade_change",
        {"submission_id": "90001", "assignment_id": "4401", "grade": "5"},
        drop=("user_id", "user_login", "user_sis_id", "context_role"),
    )
    event = DEFAULT.transform_obj(raw).event
    assert event["actor"] == {"id": "urn:instructure:canvas:user:0", "type": "Person"}
    assert event["group"] == GROUP
    assert "membership" not in event


@pytest.mark.parametrize(
    ("name", "body", "default_type", "strict_type", "strict_profile"),
    [
        (
            "submission_created",
            {"submission_id": "1", "assignment_id": "2"},
            "AssignableEvent",
            "Event",
            "basic",
        ),
        ("quiz_submitted", {"submission_id": "1", "quiz_id": "2"}, "AssessmentEvent", "Event", "basic"),
        ("discussion_entry_created", {"discussion_entry_id": "1"}, "MessageEvent", "Event", "basic"),
        ("logged_out", {}, "SessionEvent", "Event", "basic"),
        ("grade_change", {"submission_id": "1"}, "GradeEvent", "GradeEvent", "grading"),
        ("wiki_page_created", WIKI, "Event", "Event", "basic"),
    ],
)
def test_job_generated_events(name, body, default_type, strict_type, strict_profile) -> None:
    raw = canvas_event(name, body, meta=JOB_META)
    default = DEFAULT.transform_obj(raw)
    app = {"id": "http://www.canvaslms.com/", "type": "SoftwareApplication"}
    assert default.event["actor"] == app
    assert default.event["edApp"] == app
    assert default.envelope["sensor"] == "http://www.canvaslms.com/"
    assert default.event["type"] == default_type
    assert default.event["extensions"][CANVAS]["job_id"] == "77001"
    assert (
        default.event["extensions"][CANVAS]["job_tag"] == "SIS::CSV::ImportRefactored#run_parallel_importer"
    )
    strict = STRICT.transform_obj(raw)
    assert (strict.event["type"], strict.profile) == (strict_type, strict_profile)
    assert strict.event["action"] == default.event["action"]
    assert strict.event["object"] == default.event["object"]  # same documented object


def test_job_event_with_known_hostname_keeps_it_for_sensor_and_edapp() -> None:
    event = DEFAULT.transform_obj(
        canvas_event("wiki_page_created", WIKI, meta=JOB_META, hostname="lms.example.ac.uk")
    )
    assert event.envelope["sensor"] == "http://lms.example.ac.uk/"
    assert event.event["edApp"]["id"] == "http://lms.example.ac.uk/"
    assert event.event["actor"] == {"id": "http://www.canvaslms.com/", "type": "SoftwareApplication"}


@pytest.mark.parametrize(
    ("context_role", "role"),
    [
        ("StudentEnrollment", "Learner"),
        ("TeacherEnrollment", "Instructor"),
        ("TaEnrollment", "Instructor#TeachingAssistant"),
        ("DesignerEnrollment", "ContentDeveloper"),
        ("ObserverEnrollment", "Mentor"),
        ("StudentViewEnrollment", "Learner"),
        ("AccountAdmin", "Administrator"),
    ],
)
def test_roles(context_role: str, role: str) -> None:
    event = DEFAULT.transform_obj(canvas_event("wiki_page_updated", WIKI, context_role=context_role)).event
    assert event["membership"]["id"] == f"urn:instructure:canvas:course:3001:{role}:20001"
    assert event["membership"]["roles"] == [role]


@pytest.mark.parametrize("context_role", [None, "GroupMembership", "SomethingNew", 7])
def test_unknown_or_missing_role_uses_the_user_segment(context_role) -> None:
    event = DEFAULT.transform_obj(canvas_event("wiki_page_updated", WIKI, context_role=context_role)).event
    assert event["membership"]["id"] == "urn:instructure:canvas:course:3001:user:20001"
    assert "roles" not in event["membership"]


def test_missing_optional_fields_are_left_out_not_null() -> None:
    meta = {"event_name": "wiki_page_created", "event_time": "2026-10-02T09:15:00Z", "user_id": "20001"}
    event = DEFAULT.transform_obj({"metadata": meta, "body": {"wiki_page_id": "8801"}}).event
    assert event == {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "id": event["id"],
        "type": "Event",
        "actor": {
            "id": "urn:instructure:canvas:user:20001",
            "type": "Person",
            "extensions": {CANVAS: {"entity_id": "20001"}},
        },
        "action": "Created",
        "object": {
            "id": "urn:instructure:canvas:wikiPage:8801",
            "type": "Page",
            "extensions": {CANVAS: {"entity_id": "8801"}},
        },
        "eventTime": "2026-10-02T09:15:00.000Z",
        "edApp": {"id": "http://www.canvaslms.com/", "type": "SoftwareApplication"},
        "extensions": {CANVAS: {"version": "1.0.0"}},
    }


def test_null_referrer_and_session_are_omitted() -> None:
    event = DEFAULT.transform_obj(
        canvas_event("wiki_page_updated", WIKI, referrer=None, session_id=None)
    ).event
    assert "referrer" not in event and "session" not in event


def test_integer_ids_become_strings() -> None:
    event = DEFAULT.transform_obj(
        canvas_event("wiki_page_updated", {"wiki_page_id": 8801}, user_id=20001)
    ).event
    assert event["object"]["id"] == "urn:instructure:canvas:wikiPage:8801"
    assert event["object"]["extensions"][CANVAS]["entity_id"] == "8801"
    assert event["actor"]["id"] == "urn:instructure:canvas:user:20001"
