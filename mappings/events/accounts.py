"""user_account_association_created: a user joined an account (basic profile)."""

from __future__ import annotations

from mappings.builders import entity, standard_event, user_urn
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping


@mapping(
    "user_account_association_created",
    object_type="Entity",
    ignores=("account_uuid",),
    caliper_type="Event",
    action="Created",
)
def user_account_association_created(ev: CanvasEvent, spec: MappingSpec) -> dict:
    user_id = ev.body_id("user_id")
    obj = entity(
        "account",
        ev.require_id("account_id"),
        "Entity",
        {"dateCreated": ev.body_ts("created_at"), "dateModified": ev.body_ts("updated_at")},
        {"is_admin": ev.body.get("is_admin"), "user_id": user_urn(user_id) if user_id else None},
        with_entity_id=False,  # documented without entity_id
    )
    return standard_event(ev, spec.caliper_type, spec.action, obj)
