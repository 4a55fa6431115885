"""Enrollments and enrollment states (basic profile). An enrollment's group is its section."""

from __future__ import annotations

from mappings.builders import (
    actor_for,
    base_event,
    context_group,
    course_group,
    course_urn,
    entity,
    membership,
    move_to_extensions,
    section_group,
    section_urn,
    standard_event,
    user_urn,
)
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping


@mapping(
    "enrollment_created",
    object_type="Entity",
    ignores=("associated_user_id", "updated_at"),
    caliper_type="Event",
    action="Created",
)
@mapping(
    "enrollment_updated",
    object_type="Entity",
    ignores=("associated_user_id",),
    caliper_type="Event",
    action="Modified",
)
def enrollment(ev: CanvasEvent, spec: MappingSpec) -> dict:
    body = ev.body
    course_id = ev.body_id("course_id")
    section_id = ev.body_id("course_section_id")
    user_id = ev.body_id("user_id")
    obj = entity(
        "enrollment",
        ev.require_id("enrollment_id"),
        "Entity",
        {
            "dateCreated": ev.body_ts("created_at"),
            "dateModified": ev.body_ts("updated_at") if spec.action == "Modified" else None,
        },
        {
            "course_id": course_urn(course_id) if course_id else None,
            "course_section_id": section_urn(course_id, section_id) if course_id and section_id else None,
            "limit_privileges_to_course_section": body.get("limit_privileges_to_course_section"),
            "type": body.get("type"),
            "user_id": user_urn(user_id) if user_id else None,
            "user_name": body.get("user_name"),
            "workflow_state": body.get("workflow_state"),
        },
    )
    if course_id and section_id:
        group = section_group(course_id, section_id)
    elif course_id:
        group = course_group(course_id)
    else:
        group = context_group(ev)
    actor, actor_id = actor_for(ev)
    member = membership(ev, group, actor_id) if group is not None and actor_id is not None else None
    return base_event(ev, spec.caliper_type, spec.action, obj, actor=actor, group=group, membership=member)


def _started_to_extensions(event: dict) -> None:
    """Strict: an Entity has no startedAtTime in 1.1; keep it as the Canvas extension."""
    move_to_extensions(event["object"], {"startedAtTime": "state_started_at"})


@mapping(
    "enrollment_state_created",
    object_type="Entity",
    caliper_type="Event",
    action="Created",
    strict=_started_to_extensions,
)
@mapping(
    "enrollment_state_updated",
    object_type="Entity",
    caliper_type="Event",
    action="Modified",
    strict=_started_to_extensions,
)
def enrollment_state(ev: CanvasEvent, spec: MappingSpec) -> dict:
    body = ev.body
    obj = entity(
        "enrollment",
        ev.require_id("enrollment_id"),
        "Entity",
        {"startedAtTime": ev.body_ts("state_started_at")},
        {
            "access_is_current": body.get("access_is_current"),
            "restricted_access": body.get("restricted_access"),
            "state": body.get("state"),
            "state_is_current": body.get("state_is_current"),
            "state_valid_until": ev.body_ts("state_valid_until"),
        },
    )
    return standard_event(ev, spec.caliper_type, spec.action, obj)
