"""Courses and their syllabus (basic profile). Course events carry no group or membership."""

from __future__ import annotations

from mappings.builders import (
    actor_for,
    base_event,
    course_group,
    course_urn,
    entity,
    membership,
    move_to_extensions,
    standard_event,
)
from mappings.errors import MappingError
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping


@mapping(
    "course_created",
    object_type="CourseOffering",
    ignores=("account_id", "created_at", "updated_at", "uuid", "workflow_state"),
    caliper_type="Event",
    action="Created",
)
@mapping(
    "course_updated",
    object_type="CourseOffering",
    ignores=("account_id", "created_at", "updated_at", "uuid"),
    caliper_type="Event",
    action="Modified",
)
def course(ev: CanvasEvent, spec: MappingSpec) -> dict:
    obj = entity(
        "course",
        ev.require_id("course_id"),
        "CourseOffering",
        {"name": ev.body_str("name")},
        {"workflow_state": ev.body.get("workflow_state") if spec.action == "Modified" else None},
    )
    return standard_event(ev, spec.caliper_type, spec.action, obj, group=False)


def _syllabus_body_to_extensions(event: dict) -> None:
    """Strict: a Document has no body in 1.1; keep the text as the Canvas extension."""
    move_to_extensions(event["object"], {"body": "syllabus_body"})


@mapping(
    "syllabus_updated",
    object_type="Document",
    ignores=("old_syllabus_body",),
    caliper_type="Event",
    action="Modified",
    strict=_syllabus_body_to_extensions,
)
def syllabus_updated(ev: CanvasEvent, spec: MappingSpec) -> dict:
    course_id = ev.require_id("course_id")
    actor, user_id = actor_for(ev)
    obj = {
        "id": course_urn(course_id),
        "type": "Document",
        "name": "Syllabus",
        "creators": [{"id": actor["id"], "type": actor["type"]}],
    }
    body = ev.body.get("syllabus_body")
    if body is not None:
        if type(body) is not str:
            raise MappingError("map", "body.syllabus_body: expected a string", "body.syllabus_body")
        obj["body"] = body
    # Documented: a membership in the course, but no group.
    member = membership(ev, course_group(course_id), user_id) if user_id is not None else None
    return base_event(ev, spec.caliper_type, spec.action, obj, actor=actor, membership=member)
