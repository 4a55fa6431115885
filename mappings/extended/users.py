"""Users created and updated (basic profile): the object is the Person."""

from __future__ import annotations

from mappings.builders import user_urn
from mappings.builders.extended import carried, conformant_event, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY = "our choice: a generic Event whose object is the 1.1 Person, with the id every actor uses"


@extended("user_created", caliper_type="Event", action="Created", object_type="Person", why=WHY)
@extended("user_updated", caliper_type="Event", action="Modified", object_type="Person", why=WHY)
def user(ev: CanvasEvent, spec: MappingSpec) -> dict:
    user_id = ev.require_id("user_id")
    obj = resource(
        user_urn(user_id),
        "Person",
        {
            "name": ev.body_str("name"),
            "dateCreated": ev.body_ts("created_at"),
            "dateModified": ev.body_ts("updated_at"),
        },
        carried(ev, "short_name", "user_login", "user_sis_id", "uuid", "workflow_state"),
        entity_id=user_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)
