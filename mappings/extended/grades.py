"""Course grades: score changes and overrides as GradeEvents, custom grade statuses as Modified.

A Canvas course score row (`score_id`) is graded like a submission in grade_change: the Attempt
and its generated Score share one id, as Instructure's grade_change does.
"""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, ref, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

_SCORE_FIELDS = (
    "final_score",
    "old_current_score",
    "old_final_score",
    "unposted_current_score",
    "old_unposted_current_score",
    "unposted_final_score",
    "old_unposted_final_score",
)


def _course_grade_urn(course_id: str, user_id: str) -> str:
    """The course score row has no id in course_grade_change: name it by course and student,
    in the nested form Instructure uses for sections (`course:<c>:section:<s>`)."""
    return f"{urn('course', course_id)}:grade:{user_id}"


@extended(
    "course_grade_change",
    caliper_type="GradeEvent",
    action="Graded",
    object_type="Attempt",
    why="the 1.1 grading profile: a grade is given, so GradeEvent/Graded "
    "generating a Score (scoreGiven = current_score, the grade Canvas shows); the score row has "
    "no id in the body, so the Attempt is named course:<course>:grade:<student>",
)
def course_grade_change(ev: CanvasEvent, spec: MappingSpec) -> dict:
    course_id = ev.require_id("course_id")
    user_id = ev.require_id("user_id")
    grade_id = _course_grade_urn(course_id, user_id)
    attempt_fields = {
        "assignee": ref("user", user_id, "Person"),
        "dateCreated": ev.body_ts("created_at"),
        "dateModified": ev.body_ts("updated_at"),
    }
    obj = resource(grade_id, "Attempt", attempt_fields, carried(ev, "course_id", "workflow_state"))
    score = resource(
        grade_id,
        "Score",
        {
            "attempt": resource(grade_id, "Attempt", attempt_fields),
            "scoreGiven": ev.body_number("current_score"),
        },
        carried(ev, *_SCORE_FIELDS),
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj, generated=score, course_id=course_id)


@extended(
    "grade_override",
    caliper_type="GradeEvent",
    action="Graded",
    object_type="Attempt",
    why="a teacher gives a course grade, so GradeEvent/Graded generating a Score "
    "(scoreGiven = override_score, scoredBy = the teacher); object and Score are the score row",
)
def grade_override(ev: CanvasEvent, spec: MappingSpec) -> dict:
    score_id = ev.require_id("score_id")
    course_id = ev.body_id("course_id")
    attempt_fields = {"assignee": ref("user", ev.body_id("user_id"), "Person")}
    obj = resource(
        urn("score", score_id),
        "Attempt",
        {**attempt_fields, "dateModified": ev.body_ts("updated_at")},
        carried(ev, "enrollment_id", "course_id", "grading_period_id"),
        entity_id=score_id,
    )
    event = conformant_event(ev, spec.caliper_type, spec.action, obj, course_id=course_id)
    actor = event["actor"]
    event["generated"] = resource(
        urn("score", score_id),
        "Score",
        {
            "attempt": resource(urn("score", score_id), "Attempt", attempt_fields),
            "scoreGiven": ev.body_number("override_score"),
            "scoredBy": actor["id"] if actor["type"] == "Person" else None,
        },
        carried(ev, "old_override_score"),
    )
    return event


@extended(
    "final_grade_custom_status",
    caliper_type="Event",
    action="Modified",
    object_type="Score",
    why="our choice: a custom status (e.g. Incomplete) set on a final grade gives no score, so not "
    "a GradeEvent; the course score row is modified",
)
def final_grade_custom_status(ev: CanvasEvent, spec: MappingSpec) -> dict:
    score_id = ev.require_id("score_id")
    obj = resource(
        urn("score", score_id),
        "Score",
        {"dateModified": ev.body_ts("updated_at")},
        carried(
            ev,
            "enrollment_id",
            "user_id",
            "course_id",
            "grading_period_id",
            "override_status",
            "override_status_id",
            "old_override_status",
            "old_override_status_id",
        ),
        entity_id=score_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj, course_id=ev.body_id("course_id"))


@extended(
    "submission_custom_grade_status",
    caliper_type="Event",
    action="Modified",
    object_type="Attempt",
    why="our choice: a custom status set on a submission gives no score, so not a GradeEvent; "
    "the submission (Attempt) is modified, as in Instructure's submission_updated",
)
def submission_custom_grade_status(ev: CanvasEvent, spec: MappingSpec) -> dict:
    submission_id = ev.require_id("submission_id")
    obj = resource(
        urn("submission", submission_id),
        "Attempt",
        {
            "assignee": ref("user", ev.body_id("user_id"), "Person"),
            "assignable": ref("assignment", ev.body_id("assignment_id"), "AssignableDigitalResource"),
            "dateModified": ev.body_ts("updated_at"),
        },
        carried(
            ev,
            "course_id",
            "submission_status",
            "submission_status_id",
            "old_submission_status",
            "old_submission_status_id",
        ),
        entity_id=submission_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj, course_id=ev.body_id("course_id"))
