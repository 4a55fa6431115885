"""asset_accessed: a page view in Canvas, as a NavigationEvent (reading profile)."""

from __future__ import annotations

from mappings.builders import CANVAS, standard_event
from mappings.builders.ids import URN_PREFIX
from mappings.errors import MappingError
from mappings.model import CanvasEvent, extension_table
from mappings.registry import MappingSpec, mapping

# asset_type -> URN kind where Instructure renames it; every other type (calendar_event,
# content_tag, quizzes:quiz, lti/tool_proxy, ...) is kept as it is.
ASSET_KIND = {"wiki_page": "wikiPage", "discussion_topic": "discussion"}
# asset_type -> Caliper type; everything else is a generic Entity (named by its subtype).
ASSET_TYPE = {"assignment": "AssignableDigitalResource", "wiki_page": "Page", "discussion_topic": "Thread"}
# The object's extensions, in Instructure's order: extension key <- where its value comes from
# (left out when absent). `asset_id` is the id as read by require_id (a number becomes text).
EXTENSIONS = extension_table(
    "asset_accessed",
    {
        "asset_name": "body.asset_name",
        "asset_type": "body.asset_type",
        "asset_subtype": "body.asset_subtype",
        "entity_id": "asset_id",
        "context_account_id": "metadata.context_account_id",
        "http_method": "metadata.http_method",
        "developer_key_id": "metadata.developer_key_id",
        "filename": "body.filename",
        "display_name": "body.display_name",
        "url": "body.url",
        "domain": "body.domain",
    },
)


def _as_digital_resource(event: dict) -> None:
    """Strict: NavigationEvent needs a DigitalResource; the documented generic Entity becomes one."""
    obj = event["object"]
    if obj.get("type") == "Entity":
        obj["type"] = "DigitalResource"


@mapping(
    "asset_accessed",
    object_type="Entity (strict: DigitalResource) / AssignableDigitalResource / Page / Thread",
    ignores=("category", "level", "role"),
    caliper_type="NavigationEvent",
    action="NavigatedTo",
    strict=_as_digital_resource,
)
def asset_accessed(ev: CanvasEvent, spec: MappingSpec) -> dict:
    asset_type = ev.body_id("asset_type")
    if asset_type is None:
        raise MappingError("map", "body.asset_type is required for asset_accessed", "body.asset_type")
    asset_id = ev.require_id("asset_id")
    subtype = ev.body_str("asset_subtype")
    caliper_type = ASSET_TYPE.get(asset_type, "Entity")
    obj = {"id": f"{URN_PREFIX}{ASSET_KIND.get(asset_type, asset_type)}:{asset_id}", "type": caliper_type}
    if caliper_type == "Entity":
        obj["name"] = subtype or asset_type
    obj["extensions"] = {CANVAS: EXTENSIONS(ev, asset_id=asset_id)}
    # With no user (attachments, calendar feeds) the documented actor is the application itself.
    return standard_event(ev, spec.caliper_type, spec.action, obj, no_user_app=True)
