"""Every mapped event with the project's own values; expected Caliper written out by hand."""

from __future__ import annotations

import pytest

from mappings.transform import Transformer
from tests.mappings.canvas_builders import (
    ACTOR,
    APP,
    CANVAS,
    EDAPP,
    EXTENSIONS,
    GROUP,
    JOB_META,
    MEMBERSHIP,
    SESSION,
    canvas_event,
)

DEFAULT = Transformer()
STRICT = Transformer(strict=True)
T_ACTOR = {  # the same user as a teacher
    "id": "urn:instructure:canvas:user:20001",
    "type": "Person",
    "extensions": ACTOR["extensions"],
}
T_MEMBERSHIP = {
    **MEMBERSHIP,
    "id": "urn:instructure:canvas:course:3001:Instructor:20001",
    "roles": ["Instructor"],
}


def event_of(obj: dict, *, strict: bool = False) -> dict:
    return (STRICT if strict else DEFAULT).transform_obj(obj).event


def assert_request_context(
    event: dict, *, membership: dict | None = MEMBERSHIP, group: dict | None = GROUP
) -> None:
    assert event["@context"] == "http://purl.imsglobal.org/ctx/caliper/v1p1"
    assert event["actor"] == ACTOR
    assert event["edApp"] == EDAPP
    assert event["session"] == SESSION
    assert event["extensions"] == EXTENSIONS
    assert event["referrer"] == "https://lms.example.ac.uk/courses/3001/modules"
    assert event.get("group") == group
    assert event.get("membership") == membership


# -- asset_accessed -----------------------------------------------------------------------------


def test_asset_accessed_wiki_page_full_envelope() -> None:
    raw = canvas_event(
        "asset_accessed",
        {
            "asset_name": "Limits",
            "asset_type": "wiki_page",
            "asset_id": "8801",
            "asset_subtype": None,
            "category": "wiki",
            "role": "StudentEnrollment",
            "level": None,
        },
    )
    out = DEFAULT.transform_obj(raw)
    env = out.envelope
    assert out.profile == "reading" and out.event_name == "asset_accessed"
    assert env["sensor"] == APP
    assert env["dataVersion"] == "http://purl.imsglobal.org/ctx/caliper/v1p1"
    assert len(env["data"]) == 1 and env["data"][0] is out.event
    event = dict(out.event)
    assert event.pop("id").startswith("urn:uuid:")
    assert event == {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "type": "NavigationEvent",
        "actor": ACTOR,
        "action": "NavigatedTo",
        "object": {
            "id": "urn:instructure:canvas:wikiPage:8801",
            "type": "Page",
            "extensions": {
                CANVAS: {
                    "asset_name": "Limits",
                    "asset_type": "wiki_page",
                    "entity_id": "8801",
                    "context_account_id": "9012",
                    "http_method": "GET",
                }
            },
        },
        "eventTime": "2026-10-02T09:15:00.250Z",
        "referrer": "https://lms.example.ac.uk/courses/3001/modules",
        "edApp": EDAPP,
        "group": GROUP,
        "membership": MEMBERSHIP,
        "session": SESSION,
        "extensions": EXTENSIONS,
    }


@pytest.mark.parametrize(
    ("asset_type", "subtype", "kind", "caliper_type", "name"),
    [
        ("assignment", None, "assignment", "AssignableDigitalResource", None),
        ("discussion_topic", None, "discussion", "Thread", None),
        ("course", "grades", "course", "Entity", "grades"),
        ("quizzes:quiz", None, "quizzes:quiz", "Entity", "quizzes:quiz"),
        ("lti/tool_proxy", None, "lti/tool_proxy", "Entity", "lti/tool_proxy"),
        ("calendar_event", None, "calendar_event", "Entity", "calendar_event"),
    ],
)
def test_asset_accessed_kinds_and_types(asset_type, subtype, kind, caliper_type, name) -> None:
    event = event_of(
        canvas_event(
            "asset_accessed", {"asset_type": asset_type, "asset_id": "8802", "asset_subtype": subtype}
        )
    )
    assert event["object"]["id"] == f"urn:instructure:canvas:{kind}:8802"
    assert event["object"]["type"] == caliper_type
    assert event["object"].get("name") == name


def test_asset_accessed_body_extras_and_developer_key() -> None:
    event = event_of(
        canvas_event(
            "asset_accessed",
            {
                "asset_name": "Graph tool",
                "asset_type": "context_external_tool",
                "asset_id": "51",
                "category": "external_tools",
                "url": "https://graph.example.org/lti",
                "domain": "graph.example.org",
            },
            developer_key_id="6600000000017",
        )
    )
    assert event["object"] == {
        "id": "urn:instructure:canvas:context_external_tool:51",
        "type": "Entity",
        "name": "context_external_tool",
        "extensions": {
            CANVAS: {
                "asset_name": "Graph tool",
                "asset_type": "context_external_tool",
                "entity_id": "51",
                "context_account_id": "9012",
                "http_method": "GET",
                "developer_key_id": "6600000000017",
                "url": "https://graph.example.org/lti",
                "domain": "graph.example.org",
            }
        },
    }


def test_asset_accessed_without_user_has_application_actor_and_no_membership() -> None:
    raw = canvas_event(
        "asset_accessed",
        {
            "asset_name": "notes.pdf",
            "asset_type": "attachment",
            "asset_id": "7001",
            "filename": "notes.pdf",
            "display_name": "notes.pdf",
        },
        drop=("user_id", "user_login", "user_sis_id", "user_account_id", "context_role"),
    )
    for strict in (False, True):
        event = event_of(raw, strict=strict)
        assert event["actor"] == {"id": APP, "type": "SoftwareApplication"}
        assert event["group"] == GROUP
        assert "membership" not in event
    assert event_of(raw)["type"] == "NavigationEvent"
    assert event_of(raw, strict=True)["type"] == "Event"  # decision 9: no Person, no NavigationEvent


@pytest.mark.parametrize("context_type", ["Group", "Account", "User"])
def test_non_course_contexts_give_no_group_or_membership(context_type: str) -> None:
    event = event_of(
        canvas_event(
            "asset_accessed",
            {"asset_type": "group", "asset_id": "61", "asset_subtype": "files"},
            context_type=context_type,
            context_id="61",
            context_role="GroupMembership",
        )
    )
    assert "group" not in event and "membership" not in event
    assert event["actor"] == ACTOR


def test_asset_accessed_strict_entity_becomes_digital_resource() -> None:
    raw = canvas_event(
        "asset_accessed", {"asset_type": "course", "asset_id": "3001", "asset_subtype": "home"}
    )
    assert event_of(raw)["object"]["type"] == "Entity"
    strict = event_of(raw, strict=True)
    assert strict["type"] == "NavigationEvent"
    assert strict["object"]["type"] == "DigitalResource"
    assert strict["object"]["id"] == "urn:instructure:canvas:course:3001"


# -- assignments ------------------------------------------------------------------------------------


ASSIGNMENT_BODY = {
    "assignment_id": "4401",
    "assignment_group_id": "4300",
    "context_id": "3001",
    "context_type": "Course",
    "title": "Problem set 3",
    "description": "<p>Series and sequences.</p>",
    "due_at": "2026-10-09T17:00:00Z",
    "unlock_at": "2026-10-02T08:00:00+01:00",
    "lock_at": "2026-10-16 17:00:00 +0000",
    "points_possible": 40.0,
    "updated_at": "2026-10-02T09:14:59Z",
    "workflow_state": "published",
    "submission_types": "online_upload",
}


def test_assignment_created() -> None:
    event = event_of(canvas_event("assignment_created", ASSIGNMENT_BODY, context_role="TeacherEnrollment"))
    assert (event["type"], event["action"]) == ("Event", "Created")
    assert event["object"] == {
        "id": "urn:instructure:canvas:assignment:4401",
        "type": "AssignableDigitalResource",
        "name": "Problem set 3",
        "description": "<p>Series and sequences.</p>",
        "dateCreated": "2026-10-02T09:14:59.000Z",
        "dateToShow": "2026-10-02T07:00:00.000Z",
        "dateToSubmit": "2026-10-09T17:00:00.000Z",
        "maxScore": 40,
        "extensions": {CANVAS: {"lock_at": "2026-10-16T17:00:00.000Z", "entity_id": "4401"}},
    }
    assert_request_context(event, membership=T_MEMBERSHIP)


def test_assignment_updated() -> None:
    event = event_of(canvas_event("assignment_updated", ASSIGNMENT_BODY, context_role="TeacherEnrollment"))
    assert (event["type"], event["action"]) == ("Event", "Modified")
    assert event["object"]["dateModified"] == "2026-10-02T09:14:59.000Z"
    assert "dateCreated" not in event["object"]
    assert event["object"]["extensions"] == {
        CANVAS: {"lock_at": "2026-10-16T17:00:00.000Z", "workflow_state": "published", "entity_id": "4401"}
    }


OVERRIDE_BODY = {
    "assignment_override_id": 12,
    "assignment_id": 4401,
    "due_at": "2026-10-11T17:00:00Z",
    "all_day": False,
    "all_day_date": "2026-10-11",
    "unlock_at": None,
    "lock_at": "2026-10-18T17:00:00Z",
    "type": "CourseSection",
    "course_section_id": 3101,
    "workflow_state": "active",
}


@pytest.mark.parametrize(
    ("name", "action"),
    [("assignment_override_created", "Created"), ("assignment_override_updated", "Modified")],
)
def test_assignment_override(name: str, action: str) -> None:
    raw = canvas_event(name, OVERRIDE_BODY, context_role="TeacherEnrollment")
    event = event_of(raw)
    assert (event["type"], event["action"]) == ("Event", action)
    assert event["object"] == {
        "id": "urn:instructure:canvas:assignment_override:12",
        "type": "Entity",
        "dateToSubmit": "2026-10-11T17:00:00.000Z",
        "extensions": {
            CANVAS: {
                "lock_at": "2026-10-18T17:00:00.000Z",
                "assignment_id": "4401",
                "all_day": False,
                "all_day_date": "2026-10-11T00:00:00.000Z",
                "type": "CourseSection",
                "course_section_id": "3101",
                "workflow_state": "active",
                "entity_id": "12",
            }
        },
    }
    strict = event_of(raw, strict=True)
    assert "dateToSubmit" not in strict["object"]
    assert strict["object"]["extensions"][CANVAS]["due_at"] == "2026-10-11T17:00:00.000Z"


# -- attachments ------------------------------------------------------------------------------------


ATTACHMENT_BODY = {
    "attachment_id": "7001",
    "content_type": "application/pdf",
    "context_id": "3001",
    "context_type": "Course",
    "display_name": "Week 2 notes.pdf",
    "filename": "week-2-notes.pdf",
    "folder_id": "650",
    "lock_at": None,
    "unlock_at": None,
    "updated_at": "2026-10-01T12:00:00Z",
    "user_id": "20002",
}


def test_attachment_created_takes_actor_and_group_from_the_body() -> None:
    raw = canvas_event(
        "attachment_created",
        ATTACHMENT_BODY,
        drop=("user_id", "user_login", "user_sis_id", "context_type", "context_id", "context_role"),
    )
    event = event_of(raw)
    assert event["actor"] == {
        "id": "urn:instructure:canvas:user:20002",
        "type": "Person",
        "extensions": {
            CANVAS: {
                "root_account_id": "9000",
                "root_account_lti_guid": "lti-guid-9000.lms.example.ac.uk",
                "root_account_uuid": "Rt9000uuidAbCdEf",
                "entity_id": "20002",
            }
        },
    }
    assert event["object"] == {
        "id": "urn:instructure:canvas:attachment:7001",
        "type": "Document",
        "name": "Week 2 notes.pdf",
        "dateCreated": "2026-10-01T12:00:00.000Z",
        "mediaType": "application/pdf",
        "extensions": {
            CANVAS: {
                "context_id": "3001",
                "context_type": "Course",
                "filename": "week-2-notes.pdf",
                "folder_id": "650",
                "entity_id": "7001",
            }
        },
    }
    assert event["group"] == GROUP
    assert event["membership"] == {
        "id": "urn:instructure:canvas:course:3001:user:20002",
        "type": "Membership",
        "member": {"id": "urn:instructure:canvas:user:20002", "type": "Person"},
        "organization": {"id": "urn:instructure:canvas:course:3001", "type": "CourseOffering"},
    }


@pytest.mark.parametrize(
    ("name", "action"), [("attachment_updated", "Modified"), ("attachment_deleted", "Deleted")]
)
def test_attachment_updated_and_deleted(name: str, action: str) -> None:
    event = event_of(canvas_event(name, ATTACHMENT_BODY))
    assert event["action"] == action
    assert event["object"]["dateModified"] == "2026-10-01T12:00:00.000Z"
    assert event["actor"] == ACTOR  # metadata user, not the uploader in the body
    assert_request_context(event)


def test_attachment_updated_without_metadata_user_is_user_zero() -> None:
    raw = canvas_event("attachment_updated", ATTACHMENT_BODY, drop=("user_id", "user_login", "user_sis_id"))
    event = event_of(raw)
    assert event["actor"] == {"id": "urn:instructure:canvas:user:0", "type": "Person"}
    assert "membership" not in event
    assert event["group"] == GROUP


# -- courses ----------------------------------------------------------------------------------------


COURSE_BODY = {
    "course_id": "3001",
    "account_id": "9012",
    "name": "MATH 201 Analysis",
    "created_at": "2026-08-01T10:00:00Z",
    "updated_at": "2026-08-02T10:00:00Z",
    "uuid": "CrsUuid3001",
    "workflow_state": "available",
}


def test_course_created_has_no_group_or_membership() -> None:
    event = event_of(canvas_event("course_created", COURSE_BODY))
    assert event["object"] == {
        "id": "urn:instructure:canvas:course:3001",
        "type": "CourseOffering",
        "name": "MATH 201 Analysis",
        "extensions": {CANVAS: {"entity_id": "3001"}},
    }
    assert "group" not in event and "membership" not in event


def test_course_updated_from_a_job() -> None:
    event = event_of(canvas_event("course_updated", COURSE_BODY, meta=JOB_META))
    assert event["object"]["extensions"] == {CANVAS: {"entity_id": "3001", "workflow_state": "available"}}
    assert event["actor"] == {"id": "http://www.canvaslms.com/", "type": "SoftwareApplication"}
    assert event["edApp"] == {"id": "http://www.canvaslms.com/", "type": "SoftwareApplication"}
    assert event["extensions"] == {
        CANVAS: {
            "version": "1.0.0",
            "job_id": "77001",
            "job_tag": "SIS::CSV::ImportRefactored#run_parallel_importer",
        }
    }
    assert "session" not in event and "referrer" not in event


def test_syllabus_updated() -> None:
    body = {
        "course_id": "3001",
        "syllabus_body": "<p>Weekly problem sets.</p>",
        "old_syllabus_body": "<p>TBA</p>",
    }
    raw = canvas_event("syllabus_updated", body, drop=("context_type", "context_id", "context_role"))
    event = event_of(raw)
    assert event["object"] == {
        "id": "urn:instructure:canvas:course:3001",
        "type": "Document",
        "name": "Syllabus",
        "creators": [{"id": "urn:instructure:canvas:user:20001", "type": "Person"}],
        "body": "<p>Weekly problem sets.</p>",
    }
    assert "group" not in event
    assert event["membership"] == {
        "id": "urn:instructure:canvas:course:3001:user:20001",
        "type": "Membership",
        "member": {"id": "urn:instructure:canvas:user:20001", "type": "Person"},
        "organization": {"id": "urn:instructure:canvas:course:3001", "type": "CourseOffering"},
    }
    strict = event_of(raw, strict=True)
    assert "body" not in strict["object"]
    assert strict["object"]["extensions"] == {CANVAS: {"syllabus_body": "<p>Weekly problem sets.</p>"}}


# -- discussions ------------------------------------------------------------------------------------


def test_discussion_entry_created() -> None:
    body = {
        "discussion_entry_id": "55",
        "discussion_topic_id": "501",
        "parent_discussion_entry_id": "54",
        "text": "<p>Use the ratio test.</p>",
        "user_id": "20001",
        "created_at": "2026-10-02T09:14:00Z",
    }
    event = event_of(canvas_event("discussion_entry_created", body))
    assert (event["type"], event["action"]) == ("MessageEvent", "Posted")
    assert event["object"] == {
        "id": "urn:instructure:canvas:discussionEntry:55",
        "type": "Message",
        "isPartOf": {"id": "urn:instructure:canvas:discussion:501", "type": "Thread"},
        "body": "<p>Use the ratio test.</p>",
        "extensions": {CANVAS: {"entity_id": "55"}},
    }
    assert_request_context(event)


def test_discussion_topic_created_default_and_strict() -> None:
    body = {
        "discussion_topic_id": "501",
        "title": "Week 2 questions",
        "is_announcement": False,
        "context_id": "3001",
        "context_type": "Course",
        "body": "<p>Ask here.</p>",
    }
    raw = canvas_event("discussion_topic_created", body, context_role="TeacherEnrollment")
    out = DEFAULT.transform_obj(raw)
    assert (out.event["type"], out.event["action"], out.profile) == ("ThreadEvent", "Created", "forum")
    assert out.event["object"] == {
        "id": "urn:instructure:canvas:discussion:501",
        "type": "Thread",
        "name": "Week 2 questions",
        "extensions": {CANVAS: {"is_announcement": False, "entity_id": "501"}},
    }
    strict = STRICT.transform_obj(raw)
    assert (strict.event["type"], strict.event["action"], strict.profile) == ("Event", "Created", "basic")
    assert strict.event["object"] == out.event["object"]


# -- enrollments ------------------------------------------------------------------------------------


ENROLLMENT_BODY = {
    "enrollment_id": "60001",
    "course_id": "3001",
    "course_section_id": "3101",
    "user_id": "20005",
    "user_name": "Grace Hopper",
    "type": "StudentEnrollment",
    "created_at": "2026-09-01T08:00:00Z",
    "updated_at": "2026-09-02T08:00:00Z",
    "limit_privileges_to_course_section": True,
    "workflow_state": "active",
    "associated_user_id": None,
}
SECTION_GROUP = {
    "id": "urn:instructure:canvas:course:3001:section:3101",
    "type": "CourseSection",
    "extensions": {CANVAS: {"context_type": "Course", "entity_id": "3001"}},
}


def test_enrollment_created_in_a_section() -> None:
    event = event_of(canvas_event("enrollment_created", ENROLLMENT_BODY, context_role="TeacherEnrollment"))
    assert event["object"] == {
        "id": "urn:instructure:canvas:enrollment:60001",
        "type": "Entity",
        "dateCreated": "2026-09-01T08:00:00.000Z",
        "extensions": {
            CANVAS: {
                "course_id": "urn:instructure:canvas:course:3001",
                "course_section_id": "urn:instructure:canvas:course:3001:section:3101",
                "limit_privileges_to_course_section": True,
                "type": "StudentEnrollment",
                "user_id": "urn:instructure:canvas:user:20005",
                "user_name": "Grace Hopper",
                "workflow_state": "active",
                "entity_id": "60001",
            }
        },
    }
    assert event["group"] == SECTION_GROUP
    assert event["membership"] == {
        "id": "urn:instructure:canvas:course:3001:section:3101:Instructor:20001",
        "type": "Membership",
        "member": {"id": "urn:instructure:canvas:user:20001", "type": "Person"},
        "organization": {
            "id": "urn:instructure:canvas:course:3001:section:3101",
            "type": "CourseSection",
            "subOrganizationOf": {"id": "urn:instructure:canvas:course:3001", "type": "CourseOffering"},
        },
        "roles": ["Instructor"],
    }


def test_enrollment_updated_from_a_job_has_section_group_but_no_membership() -> None:
    event = event_of(canvas_event("enrollment_updated", ENROLLMENT_BODY, meta=JOB_META))
    assert event["object"]["dateCreated"] == "2026-09-01T08:00:00.000Z"
    assert event["object"]["dateModified"] == "2026-09-02T08:00:00.000Z"
    assert event["group"] == SECTION_GROUP
    assert "membership" not in event


def test_enrollment_state_created_and_updated() -> None:
    body = {
        "enrollment_id": "60001",
        "state": "active",
        "state_started_at": "2026-09-02 09:00:00 +0100",
        "state_is_current": True,
        "state_valid_until": "2027-01-10T00:00:00Z",
        "restricted_access": False,
        "access_is_current": True,
    }
    raw = canvas_event("enrollment_state_created", body, context_role=None)
    event = event_of(raw)
    assert event["object"] == {
        "id": "urn:instructure:canvas:enrollment:60001",
        "type": "Entity",
        "startedAtTime": "2026-09-02T08:00:00.000Z",
        "extensions": {
            CANVAS: {
                "access_is_current": True,
                "restricted_access": False,
                "state": "active",
                "state_is_current": True,
                "state_valid_until": "2027-01-10T00:00:00.000Z",
                "entity_id": "60001",
            }
        },
    }
    assert event["membership"]["id"] == "urn:instructure:canvas:course:3001:user:20001"
    assert "roles" not in event["membership"]
    strict = event_of(raw, strict=True)
    assert "startedAtTime" not in strict["object"]
    assert strict["object"]["extensions"][CANVAS]["state_started_at"] == "2026-09-02T08:00:00.000Z"
    updated = event_of(canvas_event("enrollment_state_updated", body))
    assert updated["action"] == "Modified"


# -- grading ----------------------------------------------------------------------------------------


GRADE_BODY = {
    "submission_id": "90001",
    "assignment_id": "4401",
    "grade": "36",
    "old_grade": "30",
    "score": 36.0,
    "old_score": 30,
    "points_possible": 40.0,
    "old_points_possible": 40,
    "grader_id": "20001",
    "student_id": "20005",
    "student_sis_id": "SIS-20005",
    "user_id": "20005",
    "grading_complete": True,
    "muted": False,
}


def test_grade_change() -> None:
    out = DEFAULT.transform_obj(
        canvas_event("grade_change", GRADE_BODY, context_role="TeacherEnrollment", real_user_id="20099")
    )
    event = out.event
    assert out.profile == "grading"
    assert (event["type"], event["action"]) == ("GradeEvent", "Graded")
    # documented without actor extensions; masquerading still recorded (decision 4)
    assert event["actor"] == {
        "id": "urn:instructure:canvas:user:20001",
        "type": "Person",
        "extensions": {CANVAS: {"real_user_id": "20099"}},
    }
    assignee = {
        "id": "urn:instructure:canvas:user:20005",
        "type": "Person",
        "extensions": {CANVAS: {"sis_id": "SIS-20005"}},
    }
    assignable = {"id": "urn:instructure:canvas:assignment:4401", "type": "AssignableDigitalResource"}
    assert event["object"] == {
        "id": "urn:instructure:canvas:submission:90001",
        "type": "Attempt",
        "assignee": assignee,
        "assignable": assignable,
        "extensions": {CANVAS: {"grade": "36", "entity_id": "90001"}},
    }
    assert event["generated"] == {
        "id": "urn:instructure:canvas:submission:90001",
        "type": "Score",
        "attempt": {
            "id": "urn:instructure:canvas:submission:90001",
            "type": "Attempt",
            "assignee": assignee,
            "assignable": assignable,
            "extensions": {CANVAS: {"grade": "36"}},
        },
        "maxScore": 40,
        "scoreGiven": 36,
        "scoredBy": "urn:instructure:canvas:user:20001",
        "extensions": {CANVAS: {"grade": "36", "entity_id": "90001"}},
    }
    assert event["membership"] == T_MEMBERSHIP


# -- groups -----------------------------------------------------------------------------------------


def test_group_category_created_group_follows_the_body_context() -> None:
    body = {
        "group_category_id": "810",
        "group_category_name": "Project teams",
        "context_id": "301",
        "context_type": "Course",
        "group_limit": 5,
    }
    event = event_of(canvas_event("group_category_created", body, context_role="TeacherEnrollment"))
    assert event["object"] == {
        "id": "urn:instructure:canvas:groupCategory:810",
        "type": "Entity",
        "name": "Project teams",
        "extensions": {CANVAS: {"entity_id": "810"}},
    }
    assert event["group"]["id"] == "urn:instructure:canvas:course:301"
    assert event["membership"]["id"] == "urn:instructure:canvas:course:301:Instructor:20001"


def test_group_created() -> None:
    body = {
        "group_id": "820",
        "group_name": "Team Euler",
        "group_category_id": "810",
        "group_category_name": "Project teams",
        "context_id": "3001",
        "context_type": "Course",
        "max_membership": 5,
        "uuid": "GrpUuid820",
        "workflow_state": "available",
        "account_id": "9012",
    }
    raw = canvas_event("group_created", body, drop=("context_type", "context_id", "context_role"))
    event = event_of(raw)
    assert event["object"] == {
        "id": "urn:instructure:canvas:group:820",
        "type": "Group",
        "name": "Team Euler",
        "isPartOf": {
            "id": "urn:instructure:canvas:groupCategory:810",
            "type": "Entity",
            "name": "Project teams",
        },
        "extensions": {CANVAS: {"entity_id": "820"}},
    }
    assert event["group"] == GROUP
    assert event["membership"]["id"] == "urn:instructure:canvas:course:3001:user:20001"
    strict = event_of(raw, strict=True)
    assert strict["object"] == {
        "id": "urn:instructure:canvas:group:820",
        "type": "Group",
        "name": "Team Euler",
        "extensions": {
            CANVAS: {"entity_id": "820", "group_category_id": "810", "group_category_name": "Project teams"}
        },
    }


def test_group_membership_created() -> None:
    body = {
        "group_membership_id": "830",
        "user_id": "20005",
        "group_id": "820",
        "group_name": "Team Euler",
        "group_category_id": "810",
        "group_category_name": "Project teams",
        "workflow_state": "accepted",
    }
    event = event_of(canvas_event("group_membership_created", body))
    assert event["object"] == {
        "id": "urn:instructure:canvas:groupMembership:830",
        "type": "Membership",
        "member": {"id": "urn:instructure:canvas:user:20005", "type": "Person"},
        "organization": {
            "id": "urn:instructure:canvas:group:820",
            "type": "Group",
            "name": "Team Euler",
            "extensions": {CANVAS: {"entity_id": "830"}},
            "isPartOf": {
                "id": "urn:instructure:canvas:groupCategory:810",
                "type": "Entity",
                "name": "Project teams",
            },
        },
    }
    assert "group" not in event and "membership" not in event


# -- sessions ---------------------------------------------------------------------------------------


def test_logged_in_and_out() -> None:
    login = event_of(
        canvas_event(
            "logged_in",
            {"redirect_url": "https://lms.example.ac.uk/"},
            drop=("context_type", "context_id", "context_role"),
        )
    )
    assert (login["type"], login["action"]) == ("SessionEvent", "LoggedIn")
    assert login["object"] == {
        "id": APP,
        "type": "SoftwareApplication",
        "extensions": {CANVAS: {"redirect_url": "https://lms.example.ac.uk/"}},
    }
    assert "group" not in login
    logout = DEFAULT.transform_obj(canvas_event("logged_out", {}, drop=("context_type", "context_id")))
    assert logout.event["object"] == {"id": APP, "type": "SoftwareApplication"}
    assert (logout.event["action"], logout.profile) == ("LoggedOut", "session")


# -- quizzes ----------------------------------------------------------------------------------------


QUIZ_BODY = {
    "quiz_id": "7701",
    "assignment_id": "4402",
    "context_id": "3001",
    "context_type": "Course",
    "title": "Quiz 2",
    "description": "<p>Ten minutes.</p>",
    "quiz_type": "assignment",
    "points_possible": 10.5,
    "due_at": "2026-10-05T12:00:00Z",
    "lock_at": None,
    "unlock_at": "2026-10-03T12:00:00Z",
    "time_limit": 10,
    "access_code": False,
    "workflow_state": "available",
    "updated_at": "2026-10-02T09:00:00Z",
}


@pytest.mark.parametrize(
    ("name", "date_key"), [("quiz_created", "dateCreated"), ("quiz_updated", "dateModified")]
)
def test_quiz_created_and_updated(name: str, date_key: str) -> None:
    event = event_of(canvas_event(name, QUIZ_BODY, context_role="TeacherEnrollment"))
    assert event["object"] == {
        "id": "urn:instructure:canvas:quiz:7701",
        "type": "Assessment",
        "name": "Quiz 2",
        date_key: "2026-10-02T09:00:00.000Z",
        "dateToShow": "2026-10-03T12:00:00.000Z",
        "dateToSubmit": "2026-10-05T12:00:00.000Z",
        "maxScore": 10.5,
        "extensions": {
            CANVAS: {
                "quiz_type": "assignment",
                "time_limit": 10,
                "access_code": False,
                "workflow_state": "available",
                "entity_id": "7701",
            }
        },
    }


def test_quiz_submitted_default_and_strict() -> None:
    raw = canvas_event("quiz_submitted", {"quiz_id": "7701", "submission_id": "99001"})
    out = DEFAULT.transform_obj(raw)
    attempt = {
        "id": "urn:instructure:canvas:submission:99001",
        "type": "Attempt",
        "assignee": {"id": "urn:instructure:canvas:user:20001", "type": "Person"},
        "assignable": {"id": "urn:instructure:canvas:quiz:7701", "type": "Assessment"},
        "extensions": {CANVAS: {"entity_id": "99001"}},
    }
    assert (out.event["type"], out.event["action"], out.profile) == (
        "AssessmentEvent",
        "Submitted",
        "assessment",
    )
    assert out.event["object"] == attempt
    assert_request_context(out.event)
    strict = STRICT.transform_obj(raw)
    assert strict.event["type"] == "AssessmentEvent"
    assert strict.event["object"] == {"id": "urn:instructure:canvas:quiz:7701", "type": "Assessment"}
    assert strict.event["generated"] == attempt
    assert strict.profile == "assessment"


# -- submissions ------------------------------------------------------------------------------------


SUBMISSION_BODY = {
    "submission_id": "90001",
    "assignment_id": "4401",
    "user_id": "20005",
    "submitted_at": "2026-10-08T18:30:00-04:00",
    "updated_at": "2026-10-08T18:30:00-04:00",
    "submission_type": "online_text_entry",
    "attempt": 2,
    "body": "<p>My answers.</p>",
    "url": None,
    "late": False,
    "workflow_state": "submitted",
}


def test_submission_created_lti_without_metadata_user() -> None:
    raw = canvas_event(
        "submission_created",
        SUBMISSION_BODY,
        drop=("user_id", "user_login", "user_sis_id", "context_type", "context_id", "context_role"),
    )
    out = DEFAULT.transform_obj(raw)
    event = out.event
    assert (event["type"], event["action"], out.profile) == ("AssignableEvent", "Submitted", "assignable")
    assert event["actor"]["id"] == "urn:instructure:canvas:user:20005"
    attempt = {
        "id": "urn:instructure:canvas:submission:90001",
        "type": "Attempt",
        "dateCreated": "2026-10-08T22:30:00.000Z",
        "assignee": {"id": "urn:instructure:canvas:user:20005", "type": "Person"},
        "assignable": {"id": "urn:instructure:canvas:assignment:4401", "type": "AssignableDigitalResource"},
        "count": 2,
        "body": "<p>My answers.</p>",
        "extensions": {CANVAS: {"submission_type": "online_text_entry", "entity_id": "90001"}},
    }
    assert event["object"] == attempt
    assert "group" not in event
    strict = STRICT.transform_obj(raw).event
    assert strict["object"] == {
        "id": "urn:instructure:canvas:assignment:4401",
        "type": "AssignableDigitalResource",
    }
    assert strict["generated"] == {
        "id": "urn:instructure:canvas:submission:90001",
        "type": "Attempt",
        "dateCreated": "2026-10-08T22:30:00.000Z",
        "assignee": {"id": "urn:instructure:canvas:user:20005", "type": "Person"},
        "assignable": {"id": "urn:instructure:canvas:assignment:4401", "type": "AssignableDigitalResource"},
        "count": 2,
        "extensions": {
            CANVAS: {
                "submission_type": "online_text_entry",
                "entity_id": "90001",
                "body": "<p>My answers.</p>",
            }
        },
    }


def test_submission_updated() -> None:
    event = event_of(canvas_event("submission_updated", SUBMISSION_BODY, context_role="TeacherEnrollment"))
    assert (event["type"], event["action"]) == ("Event", "Modified")
    assert event["object"] == {
        "id": "urn:instructure:canvas:submission:90001",
        "type": "Attempt",
        "dateModified": "2026-10-08T22:30:00.000Z",
        "assignee": {"id": "urn:instructure:canvas:user:20005", "type": "Person"},
        "assignable": {"id": "urn:instructure:canvas:assignment:4401", "type": "AssignableDigitalResource"},
        "count": 2,
        "extensions": {CANVAS: {"submission_type": "online_text_entry", "entity_id": "90001"}},
    }
    assert event["actor"] == ACTOR


# -- accounts and wiki ------------------------------------------------------------------------------


def test_user_account_association_created_from_a_job() -> None:
    body = {
        "user_id": "20005",
        "account_id": "9012",
        "account_uuid": "AccUuid9012",
        "created_at": "2026-08-30T02:00:00Z",
        "updated_at": "2026-08-30T02:00:01Z",
        "is_admin": True,
    }
    event = event_of(canvas_event("user_account_association_created", body, meta=JOB_META))
    assert event["object"] == {
        "id": "urn:instructure:canvas:account:9012",
        "type": "Entity",
        "dateCreated": "2026-08-30T02:00:00.000Z",
        "dateModified": "2026-08-30T02:00:01.000Z",
        "extensions": {CANVAS: {"is_admin": True, "user_id": "urn:instructure:canvas:user:20005"}},
    }
    assert event["actor"] == {"id": "http://www.canvaslms.com/", "type": "SoftwareApplication"}


@pytest.mark.parametrize(
    ("name", "action", "with_body"),
    [
        ("wiki_page_created", "Created", True),
        ("wiki_page_updated", "Modified", True),
        ("wiki_page_deleted", "Deleted", False),
    ],
)
def test_wiki_pages(name: str, action: str, with_body: bool) -> None:
    body = {"wiki_page_id": "8801", "title": "Limits", "body": "<p>epsilon-delta</p>", "old_title": "Limit"}
    event = event_of(canvas_event(name, body, context_role="TeacherEnrollment"))
    expected = {
        "id": "urn:instructure:canvas:wikiPage:8801",
        "type": "Page",
        "name": "Limits",
        "extensions": {CANVAS: {"body": "<p>epsilon-delta</p>", "entity_id": "8801"}},
    }
    if not with_body:
        expected["extensions"] = {CANVAS: {"entity_id": "8801"}}
    assert event["action"] == action
    assert event["object"] == expected
    assert_request_context(event, membership=T_MEMBERSHIP)
