"""LTI 1.3 resource links made by deep linking (basic profile)."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY = (
    "our choice: a resource link placed in a course is a DigitalResource (1.1 has no LtiLink, "
    "and the ToolLaunch profile extension is not in the validator); a generic Event"
)


@extended(
    "lti_resource_link_created",
    caliper_type="Event",
    action="Created",
    object_type="DigitalResource",
    why=WHY,
)
@extended(
    "lti_resource_link_updated",
    caliper_type="Event",
    action="Modified",
    object_type="DigitalResource",
    why=WHY,
)
def lti_resource_link(ev: CanvasEvent, spec: MappingSpec) -> dict:
    link_id = ev.require_id("resource_link_id")
    obj = resource(
        urn("ltiResourceLink", link_id),
        "DigitalResource",
        None,
        carried(
            ev,
            "context_id",
            "context_type",
            "resource_link_uuid",
            "lookup_uuid",
            "context_external_tool_id",
            "url",
            "workflow_state",
        ),
        entity_id=link_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)
