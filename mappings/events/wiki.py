"""Wiki pages: created/updated/deleted as Pages (basic profile)."""

from __future__ import annotations

from mappings.builders import entity, standard_event
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping


@mapping("wiki_page_created", object_type="Page", caliper_type="Event", action="Created")
@mapping(
    "wiki_page_updated",
    object_type="Page",
    ignores=("old_body", "old_title"),
    caliper_type="Event",
    action="Modified",
)
@mapping("wiki_page_deleted", object_type="Page", caliper_type="Event", action="Deleted")
def wiki_page(ev: CanvasEvent, spec: MappingSpec) -> dict:
    obj = entity(
        "wikiPage",
        ev.require_id("wiki_page_id"),
        "Page",
        {"name": ev.body_str("title")},
        {"body": ev.body.get("body") if spec.action != "Deleted" else None},
    )
    return standard_event(ev, spec.caliper_type, spec.action, obj)
