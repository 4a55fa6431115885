"""Module progress through a course: course_progress and course_completed (basic profile).

The body nests three objects: `course` (the object), `progress` and `user` (the learner, who
is the actor when the metadata names no user, as for job-generated progress events).
"""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import conformant_event, resource
from mappings.builders.values import clean_json
from mappings.errors import MappingError
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec
from mappings.timestamps import normalize_timestamp


def _part(ev: CanvasEvent, key: str) -> dict:
    value = ev.body.get(key)
    if value is None:
        return {}
    if type(value) is not dict:
        raise MappingError("map", f"body.{key}: expected an object", "body." + key)
    return value


def _id(part: dict, where: str) -> str | None:
    value = part.get("id")
    if value is None:
        return None
    if type(value) is int:
        return str(value)
    if type(value) is str and value.isascii() and value.isalnum():
        return value
    raise MappingError("map", f"{where}.id: expected an id", f"{where}.id")


@extended(
    "course_completed",
    caliper_type="Event",
    action="Completed",
    object_type="CourseOffering",
    why="our choice: the learner met every module requirement of the course; 1.1 has no course "
    "profile, so a generic Event/Completed whose actor is the learner",
)
@extended(
    "course_progress",
    caliper_type="Event",
    action="Modified",
    object_type="CourseOffering",
    why="our choice: the learner met one more module requirement; 1.1 has no progress action and "
    "the met requirement is not named, so Modified on the course, with the progress as extensions",
)
def course_progress(ev: CanvasEvent, spec: MappingSpec) -> dict:
    course, progress, user = _part(ev, "course"), _part(ev, "progress"), _part(ev, "user")
    course_id = _id(course, "body.course")
    if course_id is None:
        raise MappingError("map", f"body.course.id is required for {ev.name}", "body.course.id")
    completed_at = progress.get("completed_at")
    extensions = {
        "account_id": clean_json(course.get("account_id"), "body.course.account_id"),
        "sis_source_id": clean_json(course.get("sis_source_id"), "body.course.sis_source_id"),
        "progress": clean_json(
            {
                **progress,
                "completed_at": normalize_timestamp(completed_at, "body.progress.completed_at")
                if completed_at is not None
                else None,
            },
            "body.progress",
        ),
        "user": clean_json(user, "body.user"),
    }
    obj = resource(
        urn("course", course_id),
        "CourseOffering",
        {"name": clean_json(course.get("name"), "body.course.name")},
        {key: value for key, value in extensions.items() if value is not None},
        entity_id=course_id,
    )
    learner = _id(user, "body.user")
    return conformant_event(ev, spec.caliper_type, spec.action, obj, acting_user=learner, course_id=course_id)
