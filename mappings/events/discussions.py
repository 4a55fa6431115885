"""Discussions: entries are MessageEvents, topics ThreadEvents (forum profile)."""

from __future__ import annotations

from mappings.builders import entity, standard_event, urn
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping


@mapping(
    "discussion_entry_created",
    object_type="Message",
    ignores=("created_at", "parent_discussion_entry_id", "user_id"),
    caliper_type="MessageEvent",
    action="Posted",
)
def discussion_entry_created(ev: CanvasEvent, spec: MappingSpec) -> dict:
    topic_id = ev.body_id("discussion_topic_id")
    obj = entity(
        "discussionEntry",
        ev.require_id("discussion_entry_id"),
        "Message",
        {
            "isPartOf": {"id": urn("discussion", topic_id), "type": "Thread"} if topic_id else None,
            "body": ev.body_str("text"),
        },
    )
    return standard_event(ev, spec.caliper_type, spec.action, obj)


# Caliper 1.1 has no ThreadEvent/Created (only MarkedAsRead/MarkedAsUnread): strict says Event.
@mapping(
    "discussion_topic_created",
    object_type="Thread",
    ignores=("assignment_id", "body", "lock_at", "updated_at", "workflow_state"),
    caliper_type="ThreadEvent",
    action="Created",
    strict_type="Event",
)
def discussion_topic_created(ev: CanvasEvent, spec: MappingSpec) -> dict:
    obj = entity(
        "discussion",
        ev.require_id("discussion_topic_id"),
        "Thread",
        {"name": ev.body_str("title")},
        {"is_announcement": ev.body.get("is_announcement")},
    )
    return standard_event(ev, spec.caliper_type, spec.action, obj)
