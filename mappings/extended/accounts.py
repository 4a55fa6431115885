"""Accounts and account notifications (basic profile). An account is a Caliper Organization."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, ref, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY_ACCOUNT = (
    "our choice: no metric profile covers administration, so a generic Event; a Canvas account "
    "is an institution or sub-account, i.e. a 1.1 Organization, its parent the subOrganizationOf"
)


@extended(
    "account_created", caliper_type="Event", action="Created", object_type="Organization", why=WHY_ACCOUNT
)
@extended(
    "account_updated", caliper_type="Event", action="Modified", object_type="Organization", why=WHY_ACCOUNT
)
def account(ev: CanvasEvent, spec: MappingSpec) -> dict:
    account_id = ev.require_id("account_id")
    obj = resource(
        urn("account", account_id),
        "Organization",
        {
            "name": ev.body_str("name"),
            "subOrganizationOf": ref("account", ev.body_id("parent_account_id"), "Organization"),
        },
        carried(
            ev,
            "root_account_id",
            "root_account_uuid",
            "external_status",
            "workflow_state",
            "domain",
            "default_time_zone",
            "default_locale",
        ),
        entity_id=account_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "account_notification_created",
    caliper_type="Event",
    action="Created",
    object_type="Message",
    why="our choice: a global announcement is a 1.1 Message (subject as name, text as body); "
    "not a MessageEvent, which is the forum profile's reply in a thread",
)
def account_notification_created(ev: CanvasEvent, spec: MappingSpec) -> dict:
    notification_id = ev.require_id("account_notification_id")
    obj = resource(
        urn("accountNotification", notification_id),
        "Message",
        {"name": ev.body_str("subject"), "body": ev.body_str("message")},
        carried(ev, "start_at", "end_at", "icon"),
        entity_id=notification_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)
