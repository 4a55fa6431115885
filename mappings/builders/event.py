"""The Caliper event skeleton shared by every mapping: the fields that come from the request
context rather than from the event's own body (MAPPING-RULES Envelope rules)."""

from __future__ import annotations

import re

from mappings.builders.actor import actor_for
from mappings.builders.group import context_group, membership
from mappings.builders.ids import CANVAS, CONTEXT, app_url, urn
from mappings.errors import MappingError
from mappings.model import CanvasEvent, keep_present, present_copier
from mappings.timestamps import CANONICAL as _CANONICAL
from mappings.timestamps import normalize_timestamp

SESSION_URN = "urn:instructure:canvas:session:"
VERSION = "1.0.0"  # "Canvas implementation version of Caliper p1v1 events"
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x20<>\"{}|\\^`\x7f-\x9f]*").fullmatch
# The ASCII characters _IRI refuses after the scheme, and a byte table that maps each of them to
# 0 and every other byte to itself: translate + `0 in` are two C loops over the bytes.
_NOT_IRI_ASCII = frozenset(b'<>"{}|\\^`\x7f' + bytes(range(0x21)))
_REFUSED_TO_ZERO = bytes(0 if byte in _NOT_IRI_ASCII else byte for byte in range(256))
_WEB_SCHEMES = ("https://", "http://")


def is_iri(value: str) -> bool:
    """A referrer is an IRI or left out: a junk Referer header must not make the event invalid.

    Referrers are long and rarely repeat (query strings), so remembering valid ones does not pay;
    the common case, an ASCII http(s) URL, is checked with a byte table (two to four times
    faster than the regex) and the rest goes through the regex.
    """
    if value.isascii() and value.startswith(_WEB_SCHEMES):
        return 0 not in value.encode().translate(_REFUSED_TO_ZERO)
    return _IRI(value) is not None


def event_time(ev: CanvasEvent) -> str:
    value = ev.meta.get("event_time")
    if value is None:
        raise MappingError("map", "metadata.event_time is required", "metadata.event_time")
    return normalize_timestamp(value, "metadata.event_time")


def entity(
    kind: str,
    entity_id: str,
    caliper_type: str,
    fields: dict | None = None,
    extensions: dict | None = None,
    *,
    with_entity_id: bool = True,
) -> dict:
    """An object `urn:instructure:canvas:<kind>:<id>`; None values are left out (decision 8)."""
    obj = {"id": urn(kind, entity_id), "type": caliper_type}
    if fields:
        for key, value in fields.items():
            if value is not None:
                obj[key] = value
    ext = keep_present(extensions, "object.extensions") if extensions else {}
    if with_entity_id:
        ext["entity_id"] = entity_id
    if ext:
        obj["extensions"] = {CANVAS: ext}
    return obj


def move_to_extensions(obj: dict, renames: dict[str, str]) -> None:
    """Strict forms: properties 1.1 does not define for the object's type go to its extensions,
    under their Canvas names (e.g. an Entity's `dateToShow` becomes `unlock_at`)."""
    moved = {target: obj.pop(source) for source, target in renames.items() if source in obj}
    if moved:
        ext = obj.setdefault("extensions", {}).setdefault(CANVAS, {})
        ext.update(moved)


# metadata field -> event.extensions key, in Instructure's order (caliper/extensions.json)
_REQUEST_FIELDS = (
    ("hostname", "hostname"),
    ("request_id", "request_id"),
    ("user_agent", "user_agent"),
    ("client_ip", "client_ip"),
    ("url", "request_url"),
    ("job_id", "job_id"),  # system-generated events only
    ("job_tag", "job_tag"),
)
_copy_request_fields = present_copier(_REQUEST_FIELDS, "metadata")


def base_event(
    ev: CanvasEvent,
    caliper_type: str,
    action: str,
    obj: dict,
    *,
    actor: dict,
    group: dict | None = None,
    membership: dict | None = None,
    generated: dict | None = None,
) -> dict:
    """The full Caliper event, keys in Instructure's order; `id` is filled in by the envelope.

    Runs for every event: the canonical eventTime is checked inline (the common case), and the
    request extensions are copied here rather than in a helper of their own.
    """
    meta = ev.meta
    when = meta.get("event_time")
    event = {
        "@context": CONTEXT,
        "id": None,
        "type": caliper_type,
        "actor": actor,
        "action": action,
        "object": obj,
        "eventTime": when if when.__class__ is str and _CANONICAL(when) else event_time(ev),
    }
    if generated is not None:
        event["generated"] = generated
    referrer = meta.get("referrer")
    if referrer.__class__ is str and is_iri(referrer):
        event["referrer"] = referrer
    event["edApp"] = {"id": app_url(ev), "type": "SoftwareApplication"}
    if group is not None:
        event["group"] = group
    if membership is not None:
        event["membership"] = membership
    if meta.get("session_id") is not None:
        event["session"] = {"id": SESSION_URN + ev.meta_id("session_id"), "type": "Session"}  # type: ignore[operator]
    ext = _copy_request_fields(meta, {})
    ext["version"] = VERSION
    event["extensions"] = {CANVAS: ext}
    return event


def standard_event(
    ev: CanvasEvent,
    caliper_type: str,
    action: str,
    obj: dict,
    *,
    generated: dict | None = None,
    body_user: bool = False,
    no_user_app: bool = False,
    actor_extensions: bool = True,
    group: bool = True,
    group_body_first: bool = False,
) -> dict:
    """base_event with the usual actor, Course group and membership of the event's context."""
    actor, user_id = actor_for(ev, body_user=body_user, no_user_app=no_user_app, extensions=actor_extensions)
    grp = context_group(ev, body_first=group_body_first) if group else None
    mem = membership(ev, grp, user_id) if grp is not None and user_id is not None else None
    return base_event(
        ev, caliper_type, action, obj, actor=actor, group=grp, membership=mem, generated=generated
    )
