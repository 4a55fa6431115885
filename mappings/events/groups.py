"""Student groups: categories, groups, memberships (basic profile)."""

from __future__ import annotations

from mappings.builders import CANVAS, entity, standard_event, urn, user_urn
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping

_CATEGORY_URN = urn("groupCategory", "")


def _category(ev: CanvasEvent) -> dict | None:
    category_id = ev.body_id("group_category_id")
    if category_id is None:
        return None
    ref = {"id": urn("groupCategory", category_id), "type": "Entity"}
    name = ev.body_str("group_category_name")
    if name is not None:
        ref["name"] = name
    return ref


@mapping(
    "group_category_created",
    object_type="Entity",
    ignores=("group_limit",),
    caliper_type="Event",
    action="Created",
)
def group_category_created(ev: CanvasEvent, spec: MappingSpec) -> dict:
    obj = entity(
        "groupCategory",
        ev.require_id("group_category_id"),
        "Entity",
        {"name": ev.body_str("group_category_name")},
    )
    # Documented with the body's context (`565`) as group, not the metadata's global id.
    return standard_event(ev, spec.caliper_type, spec.action, obj, group_body_first=True)


def _category_to_extensions(group: dict) -> None:
    """Strict: a Group has no isPartOf in 1.1 (and a group category is no Organization, so not
    subOrganizationOf either); keep the category as Canvas extensions."""
    category = group.pop("isPartOf", None)
    if category is not None:
        ext = group.setdefault("extensions", {}).setdefault(CANVAS, {})
        ext["group_category_id"] = category["id"][len(_CATEGORY_URN) :]
        if "name" in category:
            ext["group_category_name"] = category["name"]


def _group_strict(event: dict) -> None:
    _category_to_extensions(event["object"])


def _group_membership_strict(event: dict) -> None:
    organization = event["object"].get("organization")
    if organization is not None:
        _category_to_extensions(organization)


@mapping(
    "group_created",
    object_type="Group",
    ignores=("account_id", "max_membership", "uuid", "workflow_state"),
    caliper_type="Event",
    action="Created",
    strict=_group_strict,
)
def group_created(ev: CanvasEvent, spec: MappingSpec) -> dict:
    obj = entity(
        "group",
        ev.require_id("group_id"),
        "Group",
        {"name": ev.body_str("group_name"), "isPartOf": _category(ev)},
    )
    return standard_event(ev, spec.caliper_type, spec.action, obj)


@mapping(
    "group_membership_created",
    object_type="Membership",
    ignores=("workflow_state",),
    caliper_type="Event",
    action="Created",
    strict=_group_membership_strict,
)
def group_membership_created(ev: CanvasEvent, spec: MappingSpec) -> dict:
    membership_id = ev.require_id("group_membership_id")
    user_id = ev.body_id("user_id")
    group_id = ev.body_id("group_id")
    obj: dict = {"id": urn("groupMembership", membership_id), "type": "Membership"}
    if user_id is not None:
        obj["member"] = {"id": user_urn(user_id), "type": "Person"}
    if group_id is not None:
        organization = {"id": urn("group", group_id), "type": "Group"}
        name = ev.body_str("group_name")
        if name is not None:
            organization["name"] = name
        # Documented oddity: the organization's entity_id is the membership id.
        organization["extensions"] = {CANVAS: {"entity_id": membership_id}}
        category = _category(ev)
        if category is not None:
            organization["isPartOf"] = category
        obj["organization"] = organization
    return standard_event(ev, spec.caliper_type, spec.action, obj, group=False)
