"""The Canvas context as Caliper group and membership (MAPPING-RULES Group and membership rules).

Only Course contexts become a group (CourseOffering, or CourseSection for enrollments); Group,
Account and User contexts give neither group nor membership, as in every documented example.
"""

from __future__ import annotations

from mappings.builders.ids import CANVAS, URN_COURSE, URN_USER, course_urn, section_urn
from mappings.model import CanvasEvent

# metadata.context_role -> Caliper role (examples + decision 5). Unknown roles: no `roles`.
ROLES = {
    "StudentEnrollment": "Learner",
    "TeacherEnrollment": "Instructor",
    "TaEnrollment": "Instructor#TeachingAssistant",
    "DesignerEnrollment": "ContentDeveloper",
    "ObserverEnrollment": "Mentor",
    "StudentViewEnrollment": "Learner",
    "AccountAdmin": "Administrator",
    "AccountUser": "Administrator",
}


def course_group(course_id: str) -> dict:
    return {
        "id": URN_COURSE + course_id,
        "type": "CourseOffering",
        "extensions": {CANVAS: {"context_type": "Course", "entity_id": course_id}},
    }


def section_group(course_id: str, section_id: str) -> dict:
    return {
        "id": section_urn(course_id, section_id),
        "type": "CourseSection",
        "extensions": {CANVAS: {"context_type": "Course", "entity_id": course_id}},
    }


def context_group(ev: CanvasEvent, *, body_first: bool = False) -> dict | None:
    """The CourseOffering of the event's context: metadata's context, else the body's.

    `body_first` reverses the order for events whose documented group follows the body
    (group_category_created: metadata context 21070000000000565, body and group `565`).
    """
    if not body_first:  # the common case, inline: metadata's context
        ctype = ev.meta.get("context_type")
        if ctype is not None and ev.meta.get("context_id") is not None:
            return course_group(ev.meta_id("context_id")) if ctype == "Course" else None  # type: ignore[arg-type]
    first, second = (_body_context, _meta_context) if body_first else (_meta_context, _body_context)
    found = first(ev) or second(ev)
    if found is None or found[0] != "Course":
        return None
    return course_group(found[1])


def _meta_context(ev: CanvasEvent) -> tuple[object, str] | None:
    ctype = ev.meta.get("context_type")
    if ctype is None:
        return None
    cid = ev.meta_id("context_id")
    return None if cid is None else (ctype, cid)


def _body_context(ev: CanvasEvent) -> tuple[object, str] | None:
    ctype = ev.body.get("context_type")
    if ctype is None:
        return None
    cid = ev.body_id("context_id")
    return None if cid is None else (ctype, cid)


def role_of(ev: CanvasEvent) -> str | None:
    role = ev.meta.get("context_role")
    return ROLES.get(role) if type(role) is str else None


def membership(ev: CanvasEvent, group: dict, user_id: str) -> dict:
    """`<group id>:<Role>:<user id>` with `roles`, or `<group id>:user:<user id>` without a known role."""
    role = ev.meta.get("context_role")
    role = ROLES.get(role) if role.__class__ is str else None
    organization = {"id": group["id"], "type": group["type"]}
    if group["type"] == "CourseSection":
        course_id = group["extensions"][CANVAS]["entity_id"]
        organization["subOrganizationOf"] = {"id": course_urn(course_id), "type": "CourseOffering"}
    result = {
        "id": f"{group['id']}:{role or 'user'}:{user_id}",
        "type": "Membership",
        "member": {"id": URN_USER + user_id, "type": "Person"},
        "organization": organization,
    }
    if role is not None:
        result["roles"] = [role]
    return result
