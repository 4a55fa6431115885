"""Submissions: submission_created is an AssignableEvent (assignable), _updated a generic Event."""

from __future__ import annotations

from mappings.builders import entity, move_to_extensions, standard_event, urn, user_urn
from mappings.errors import MappingError
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping


def _attempt_generated(event: dict) -> None:
    """Strict: an AssignableEvent's object is the assignment; the Attempt is what it generated."""
    attempt = event["object"]
    move_to_extensions(attempt, {"body": "body"})  # an Attempt has no body in 1.1
    if event["type"] != "AssignableEvent":  # job-generated: a plain Event keeps the Attempt
        return
    assignable = attempt.get("assignable")
    if assignable is None:
        raise MappingError(
            "map", "body.assignment_id is required for the strict submission_created", "body.assignment_id"
        )
    event["object"] = dict(assignable)
    event["generated"] = attempt


@mapping(
    "submission_created",
    object_type="Attempt (strict: AssignableDigitalResource, generating the Attempt)",
    ignores=(
        "grade",
        "graded_at",
        "group_id",
        "late",
        "lti_assignment_id",
        "lti_user_id",
        "missing",
        "score",
        "submitted_at",
        "workflow_state",
    ),
    caliper_type="AssignableEvent",
    action="Submitted",
    strict=_attempt_generated,
)
@mapping(
    "submission_updated",
    object_type="Attempt",
    ignores=(
        "body",
        "grade",
        "graded_at",
        "group_id",
        "late",
        "lti_assignment_id",
        "lti_user_id",
        "missing",
        "score",
        "submitted_at",
        "url",
        "workflow_state",
    ),
    caliper_type="Event",
    action="Modified",
)
def submission(ev: CanvasEvent, spec: MappingSpec) -> dict:
    created = spec.event_name == "submission_created"
    user_id = ev.body_id("user_id")
    assignment_id = ev.body_id("assignment_id")
    obj = entity(
        "submission",
        ev.require_id("submission_id"),
        "Attempt",
        {
            "dateCreated" if created else "dateModified": ev.body_ts("updated_at"),
            "assignee": {"id": user_urn(user_id), "type": "Person"} if user_id else None,
            "assignable": {"id": urn("assignment", assignment_id), "type": "AssignableDigitalResource"}
            if assignment_id
            else None,
            "count": ev.body_int("attempt"),
            "body": ev.body_str("body") if created else None,
        },
        {
            "submission_type": ev.body.get("submission_type"),
            "url": ev.body.get("url") if created else None,
        },
    )
    # A submission's metadata may carry no user (LTI grade passback); the body names the student.
    return standard_event(ev, spec.caliper_type, spec.action, obj, body_user=created)
