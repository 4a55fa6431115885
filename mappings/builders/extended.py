"""Builders for the extended mappings (the 50 Canvas events Instructure does not map).

Same envelope, actor, edApp, group, membership, session and extension rules as the 32
(`standard_event`), with two differences that make every one of them valid Caliper 1.1 in
both output modes: an event type that needs a Person actor becomes a generic `Event` when the
actor is the Canvas application (what `--strict` does for the 32), and Canvas values that are
arrays or objects are carried as cleaned JSON (`clean_json`) rather than refused.
"""

from __future__ import annotations

from mappings.builders.actor import actor_for, person
from mappings.builders.event import base_event
from mappings.builders.group import context_group, course_group, membership
from mappings.builders.ids import CANVAS, urn
from mappings.builders.values import clean_json
from mappings.model import CanvasEvent
from mappings.strict import PERSON_ACTOR_TYPES


def ref(kind: str, entity_id: str | None, caliper_type: str, **fields: object) -> dict | None:
    """A reference `{id: urn:instructure:canvas:<kind>:<id>, type}`; None without an id."""
    if entity_id is None:
        return None
    out: dict = {"id": urn(kind, entity_id), "type": caliper_type}
    out.update((key, value) for key, value in fields.items() if value is not None)
    return out


def carried(ev: CanvasEvent, *keys: str) -> dict:
    """Body fields copied into extensions under their Canvas names, present ones only.

    Canvas's naming tells the kind: `*_at` fields are timestamps (normalised as everywhere,
    decision 6), `*_id` fields ids (a number becomes its decimal text, so string and number ids
    give one output), anything else is copied as cleaned JSON.
    """
    body = ev.body
    out: dict = {}
    for key in keys:
        value = body.get(key)
        if value is None:
            continue
        if key.endswith("_at"):
            value = ev.body_ts(key)
        elif key.endswith("_id") and type(value) is int:
            value = str(value)
        else:
            value = clean_json(value, "body." + key)
            if value is None:
                continue
        out[key] = value
    return out


def resource(
    urn_id: str,
    caliper_type: str,
    fields: dict | None = None,
    extensions: dict | None = None,
    *,
    entity_id: str | None = None,
) -> dict:
    """An object with its properties (None left out) and Canvas extensions (+ `entity_id`)."""
    obj: dict = {"id": urn_id, "type": caliper_type}
    if fields:
        obj.update((key, value) for key, value in fields.items() if value is not None)
    ext = dict(extensions) if extensions else {}
    if entity_id is not None:
        ext["entity_id"] = entity_id
    if ext:
        obj["extensions"] = {CANVAS: ext}
    return obj


def conformant_event(
    ev: CanvasEvent,
    caliper_type: str,
    action: str,
    obj: dict,
    *,
    generated: dict | None = None,
    acting_user: str | None = None,
    course_id: str | None = None,
    group: bool = True,
) -> dict:
    """`standard_event` for the extended mappings.

    acting_user: the body's id of the user who acted, used when the metadata names none
        (decision 2), e.g. the commenter of a submission comment.
    course_id:   the course to use as group when the event's context is not a Course (a
        section's course, a blueprint course).
    """
    if ev.meta.get("user_id") is None and acting_user is not None:
        actor, user_id = person(ev, acting_user), acting_user
    else:
        actor, user_id = actor_for(ev)
    if caliper_type in PERSON_ACTOR_TYPES and actor["type"] != "Person":
        caliper_type = "Event"  # e.g. job-generated: 1.1 wants a Person for this type
    grp = None
    if group:
        grp = context_group(ev)
        if grp is None and course_id is not None:
            grp = course_group(course_id)
    mem = membership(ev, grp, user_id) if grp is not None and user_id is not None else None
    return base_event(
        ev, caliper_type, action, obj, actor=actor, group=grp, membership=mem, generated=generated
    )
