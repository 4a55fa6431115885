"""Files: attachment_created/_updated/_deleted as Documents (basic profile)."""

from __future__ import annotations

from mappings.builders import entity, standard_event
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping


@mapping(
    "attachment_created",
    object_type="Document",
    ignores=("lock_at", "unlock_at"),
    caliper_type="Event",
    action="Created",
)
@mapping(
    "attachment_updated",
    object_type="Document",
    ignores=("lock_at", "old_display_name", "unlock_at", "user_id"),
    caliper_type="Event",
    action="Modified",
)
@mapping(
    "attachment_deleted",
    object_type="Document",
    ignores=("lock_at", "unlock_at", "user_id"),
    caliper_type="Event",
    action="Deleted",
)
def attachment(ev: CanvasEvent, spec: MappingSpec) -> dict:
    created = spec.action == "Created"
    obj = entity(
        "attachment",
        ev.require_id("attachment_id"),
        "Document",
        {
            "name": ev.body_str("display_name"),
            "dateCreated" if created else "dateModified": ev.body_ts("updated_at"),
            "mediaType": ev.body_str("content_type"),
        },
        {
            "context_id": ev.body_id("context_id"),
            "context_type": ev.body.get("context_type"),
            "filename": ev.body.get("filename"),
            "folder_id": ev.body_id("folder_id"),
        },
    )
    # An upload's metadata may carry no user; its body names the uploader (documented example).
    return standard_event(ev, spec.caliper_type, spec.action, obj, body_user=created)
