"""grade_change: a GradeEvent on the submission, generating a Score (grading profile)."""

from __future__ import annotations

from mappings.builders import CANVAS, entity, standard_event, urn, user_urn
from mappings.model import CanvasEvent, check_extension_values
from mappings.registry import MappingSpec, mapping


@mapping(
    "grade_change",
    object_type="Attempt",
    ignores=("grading_complete", "muted", "old_grade", "old_points_possible", "old_score", "student_id"),
    caliper_type="GradeEvent",
    action="Graded",
)
def grade_change(ev: CanvasEvent, spec: MappingSpec) -> dict:
    body = ev.body
    submission_id = ev.require_id("submission_id")
    student_id = ev.body_id("user_id") or ev.body_id("student_id")
    assignment_id = ev.body_id("assignment_id")
    grader_id = ev.body_id("grader_id")
    student_sis_id = body.get("student_sis_id")
    grade = {"grade": body.get("grade")}

    assignee = None
    if student_id is not None:
        assignee = {"id": user_urn(student_id), "type": "Person"}
        if student_sis_id is not None:
            assignee["extensions"] = {CANVAS: check_extension_values({"sis_id": student_sis_id}, "body")}
    attempt_fields = {
        "assignee": assignee,
        "assignable": {"id": urn("assignment", assignment_id), "type": "AssignableDigitalResource"}
        if assignment_id
        else None,
    }
    obj = entity("submission", submission_id, "Attempt", attempt_fields, grade)
    score = entity(
        "submission",
        submission_id,
        "Score",
        {
            # The Score repeats the Attempt, without its entity_id (as documented).
            "attempt": entity(
                "submission", submission_id, "Attempt", attempt_fields, grade, with_entity_id=False
            ),
            "maxScore": ev.body_number("points_possible"),
            "scoreGiven": ev.body_number("score"),
            "scoredBy": user_urn(grader_id) if grader_id else None,
        },
        grade,
    )
    # Documented with a bare Person actor (no extensions), unlike every other event.
    return standard_event(ev, spec.caliper_type, spec.action, obj, generated=score, actor_extensions=False)
