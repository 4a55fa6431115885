"""Student group updates (basic profile), in the strict forms of Instructure's created events."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, ref, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec


@extended(
    "group_category_updated",
    caliper_type="Event",
    action="Modified",
    object_type="Entity",
    why="Instructure's group_category_created with action Modified",
)
def group_category_updated(ev: CanvasEvent, spec: MappingSpec) -> dict:
    category_id = ev.require_id("group_category_id")
    obj = resource(
        urn("groupCategory", category_id),
        "Entity",
        {"name": ev.body_str("group_category_name")},
        carried(ev, "context_id", "context_type", "group_limit"),
        entity_id=category_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "group_updated",
    caliper_type="Event",
    action="Modified",
    object_type="Group",
    why="the strict form of Instructure's group_created (the category as extensions: a 1.1 Group "
    "has no isPartOf) with action Modified",
)
def group_updated(ev: CanvasEvent, spec: MappingSpec) -> dict:
    group_id = ev.require_id("group_id")
    obj = resource(
        urn("group", group_id),
        "Group",
        {"name": ev.body_str("group_name")},
        carried(
            ev,
            "group_category_id",
            "group_category_name",
            "account_id",
            "context_id",
            "context_type",
            "max_membership",
            "uuid",
            "workflow_state",
        ),
        entity_id=group_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "group_membership_updated",
    caliper_type="Event",
    action="Modified",
    object_type="Membership",
    why="the strict form of Instructure's group_membership_created with action Modified; Canvas's "
    "workflow_state (accepted, invited, requested, deleted...) is kept as it is rather than "
    "guessed into the 1.1 status Active/Inactive",
)
def group_membership_updated(ev: CanvasEvent, spec: MappingSpec) -> dict:
    membership_id = ev.require_id("group_membership_id")
    group_id = ev.body_id("group_id")
    organization = None
    if group_id is not None:
        organization = resource(
            urn("group", group_id),
            "Group",
            {"name": ev.body_str("group_name")},
            carried(ev, "group_category_id", "group_category_name"),
            entity_id=group_id,
        )
    obj = resource(
        urn("groupMembership", membership_id),
        "Membership",
        {"member": ref("user", ev.body_id("user_id"), "Person"), "organization": organization},
        carried(ev, "workflow_state"),
        entity_id=membership_id,
    )
    # Documented for group_membership_created: no group and no membership on the event.
    return conformant_event(ev, spec.caliper_type, spec.action, obj, group=False)
