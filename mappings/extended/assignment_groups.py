"""Assignment groups (basic profile): the weighted buckets a course's assignments sit in."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY = (
    "our choice: a generic Event as for assignment_created/_updated; an assignment group "
    "collects assignments, i.e. a 1.1 DigitalResourceCollection"
)


@extended(
    "assignment_group_created",
    caliper_type="Event",
    action="Created",
    object_type="DigitalResourceCollection",
    why=WHY,
)
@extended(
    "assignment_group_updated",
    caliper_type="Event",
    action="Modified",
    object_type="DigitalResourceCollection",
    why=WHY,
)
def assignment_group(ev: CanvasEvent, spec: MappingSpec) -> dict:
    group_id = ev.require_id("assignment_group_id")
    obj = resource(
        urn("assignmentGroup", group_id),
        "DigitalResourceCollection",
        {"name": ev.body_str("name")},
        carried(
            ev,
            "context_id",
            "context_type",
            "group_weight",
            "integration_data",
            "position",
            "rules",
            "sis_source_id",
            "workflow_state",
        ),
        entity_id=group_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)
