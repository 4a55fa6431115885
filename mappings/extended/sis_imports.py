"""SIS imports (basic profile): a batch of SIS CSV files imported into an account."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY = (
    "our choice: an import job, no 1.1 type fits, so Entity; a status change (workflow_state) is "
    "Modified rather than guessed into Started/Completed"
)


@extended("sis_batch_created", caliper_type="Event", action="Created", object_type="Entity", why=WHY)
@extended("sis_batch_updated", caliper_type="Event", action="Modified", object_type="Entity", why=WHY)
def sis_batch(ev: CanvasEvent, spec: MappingSpec) -> dict:
    batch_id = ev.require_id("sis_batch_id")
    obj = resource(
        urn("sisBatch", batch_id),
        "Entity",
        None,
        carried(ev, "account_id", "workflow_state"),
        entity_id=batch_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)
