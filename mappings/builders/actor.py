"""Who did it: the actor rules of MAPPING-RULES.md (Actor rules, decisions 2, 3 and 4)."""

from __future__ import annotations

from mappings.builders.ids import CANVAS, DEFAULT_APP_URL, URN_USER, app_url, user_urn
from mappings.model import CanvasEvent, present_copier

# metadata copied into actor.extensions, in Instructure's order (caliper/actor_extensions.json)
ACTOR_FIELDS = tuple(
    (key, key)
    for key in ("user_login", "user_sis_id", "root_account_id", "root_account_lti_guid", "root_account_uuid")
)
_copy_actor_fields = present_copier(ACTOR_FIELDS, "metadata")
UNKNOWN_USER = {"id": user_urn("0"), "type": "Person"}


def person(ev: CanvasEvent, user_id: str, *, extensions: bool = True) -> dict:
    """A Person actor. `extensions=False` gives grade_change's bare actor (still keeps real_user_id)."""
    meta = ev.meta
    if extensions:
        ext = _copy_actor_fields(meta, {})
        ext["entity_id"] = user_id
    else:
        ext = {}
    if meta.get("real_user_id") is not None:
        ext["real_user_id"] = ev.meta_id("real_user_id")
    if ext:
        return {"id": URN_USER + user_id, "type": "Person", "extensions": {CANVAS: ext}}
    return {"id": URN_USER + user_id, "type": "Person"}


def is_job_event(ev: CanvasEvent) -> bool:
    """System-generated: Canvas ran it in a delayed job (job_id/job_tag) outside any request."""
    meta = ev.meta
    return (meta.get("job_id") is not None or meta.get("job_tag") is not None) and meta.get(
        "request_id"
    ) is None


def actor_for(
    ev: CanvasEvent, *, body_user: bool = False, no_user_app: bool = False, extensions: bool = True
) -> tuple[dict, str | None]:
    """(actor, user id when the actor is a known Person, else None).

    Order (decision 2): metadata.user_id; the body's user_id where the event names it as the
    acting user (`body_user`); the Canvas application for job-generated events; the edApp for
    events documented with a no-user SoftwareApplication actor (`no_user_app`, asset_accessed);
    otherwise the unknown user 0 (decision 3).
    """
    user_id = ev.meta_id("user_id")
    if user_id is None and body_user:
        user_id = ev.body_id("user_id")
    if user_id is not None:
        return person(ev, user_id, extensions=extensions), user_id
    if no_user_app:
        return {"id": app_url(ev), "type": "SoftwareApplication"}, None
    if is_job_event(ev):
        return {"id": DEFAULT_APP_URL, "type": "SoftwareApplication"}, None
    real = ev.meta_id("real_user_id")
    if real is not None:
        return {
            "id": UNKNOWN_USER["id"],
            "type": "Person",
            "extensions": {CANVAS: {"real_user_id": real}},
        }, None
    return dict(UNKNOWN_USER), None
