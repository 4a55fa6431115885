"""Course modules and their items (basic profile)."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, ref, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY_MODULE = "our choice: a module orders a course's content, a 1.1 DigitalResourceCollection; generic Event"
WHY_ITEM = (
    "our choice: a module item is a DigitalResource isPartOf its module; its kind is content_tag, "
    "the kind Instructure's asset_accessed gives the same Canvas object, so the ids join"
)


@extended(
    "module_created",
    caliper_type="Event",
    action="Created",
    object_type="DigitalResourceCollection",
    why=WHY_MODULE,
)
@extended(
    "module_updated",
    caliper_type="Event",
    action="Modified",
    object_type="DigitalResourceCollection",
    why=WHY_MODULE,
)
def module(ev: CanvasEvent, spec: MappingSpec) -> dict:
    module_id = ev.require_id("module_id")
    obj = resource(
        urn("module", module_id),
        "DigitalResourceCollection",
        {"name": ev.body_str("name")},
        carried(ev, "context_id", "context_type", "position", "workflow_state"),
        entity_id=module_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "module_item_created", caliper_type="Event", action="Created", object_type="DigitalResource", why=WHY_ITEM
)
@extended(
    "module_item_updated",
    caliper_type="Event",
    action="Modified",
    object_type="DigitalResource",
    why=WHY_ITEM,
)
def module_item(ev: CanvasEvent, spec: MappingSpec) -> dict:
    item_id = ev.require_id("module_item_id")
    obj = resource(
        urn("content_tag", item_id),
        "DigitalResource",
        {"isPartOf": ref("module", ev.body_id("module_id"), "DigitalResourceCollection")},
        carried(ev, "context_id", "context_type", "position", "workflow_state"),
        entity_id=item_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)
