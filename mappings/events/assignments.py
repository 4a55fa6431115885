"""Assignments and their overrides: generic Events (basic profile)."""

from __future__ import annotations

from mappings.builders import entity, move_to_extensions, standard_event
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping

# Documented assignment fields Instructure's form leaves out (extended mode keeps leaving them out).
ASSIGNMENT_DROPPED = (
    "assignment_group_id",
    "assignment_id_duplicated__from",
    "assignment_id_duplicated_from",
    "context_id",
    "context_type",
    "context_uuid",
    "created_on_blueprint_sync",
    "domain",
    "domain_duplicated_from",
    "lti_assignment_id",
    "lti_resource_link_id",
    "lti_resource_link_id_duplicated_from",
    "submission_types",
)


@mapping(
    "assignment_created",
    object_type="AssignableDigitalResource",
    ignores=(*ASSIGNMENT_DROPPED, "workflow_state"),
    caliper_type="Event",
    action="Created",
)
@mapping(
    "assignment_updated",
    object_type="AssignableDigitalResource",
    ignores=ASSIGNMENT_DROPPED,
    caliper_type="Event",
    action="Modified",
)
def assignment(ev: CanvasEvent, spec: MappingSpec) -> dict:
    created = spec.action == "Created"
    obj = entity(
        "assignment",
        ev.require_id("assignment_id"),
        "AssignableDigitalResource",
        {
            "name": ev.body_str("title"),
            "description": ev.body_str("description"),
            "dateCreated" if created else "dateModified": ev.body_ts("updated_at"),
            "dateToShow": ev.body_ts("unlock_at"),
            "dateToSubmit": ev.body_ts("due_at"),
            "maxScore": ev.body_number("points_possible"),
        },
        {
            "lock_at": ev.body_ts("lock_at"),
            "workflow_state": None if created else ev.body.get("workflow_state"),
        },
    )
    return standard_event(ev, spec.caliper_type, spec.action, obj)


def _override_dates_to_extensions(event: dict) -> None:
    """Strict: an Entity has no dateToShow/dateToSubmit in 1.1; keep them as Canvas extensions."""
    move_to_extensions(event["object"], {"dateToShow": "unlock_at", "dateToSubmit": "due_at"})


@mapping(
    "assignment_override_created",
    object_type="Entity",
    caliper_type="Event",
    action="Created",
    strict=_override_dates_to_extensions,
)
@mapping(
    "assignment_override_updated",
    object_type="Entity",
    caliper_type="Event",
    action="Modified",
    strict=_override_dates_to_extensions,
)
def assignment_override(ev: CanvasEvent, spec: MappingSpec) -> dict:
    body = ev.body
    obj = entity(
        "assignment_override",
        ev.require_id("assignment_override_id"),
        "Entity",
        {
            "dateToShow": ev.body_ts("unlock_at"),
            "dateToSubmit": ev.body_ts("due_at"),
        },
        {
            "lock_at": ev.body_ts("lock_at"),
            "assignment_id": ev.body_id("assignment_id"),
            "all_day": body.get("all_day"),
            "all_day_date": ev.body_ts("all_day_date"),
            "type": body.get("type"),
            "course_section_id": ev.body_id("course_section_id"),
            "group_id": ev.body_id("group_id"),
            "workflow_state": body.get("workflow_state"),
        },
    )
    return standard_event(ev, spec.caliper_type, spec.action, obj)
