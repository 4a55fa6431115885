"""Conversations (Canvas Inbox): threads as Thread, their messages as MessageEvent/Posted."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import conformant_event, ref, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec


@extended(
    "conversation_created",
    caliper_type="Event",
    action="Created",
    object_type="Thread",
    why="our choice: a conversation is a series of messages, a 1.1 Thread; 1.1 has no "
    "ThreadEvent/Created, so a generic Event (as the strict discussion_topic_created)",
)
@extended(
    "conversation_forwarded",
    caliper_type="Event",
    action="Modified",
    object_type="Thread",
    why='our choice: Canvas sends it when recipients are added to a conversation ("a '
    'conversation is updated"); 1.1 has no action for adding recipients, so Modified',
)
def conversation(ev: CanvasEvent, spec: MappingSpec) -> dict:
    conversation_id = ev.require_id("conversation_id")
    date = "dateCreated" if spec.action == "Created" else "dateModified"
    obj = resource(
        urn("conversation", conversation_id),
        "Thread",
        {date: ev.body_ts("updated_at")},  # Instructure's rule: created events date from updated_at
        entity_id=conversation_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "conversation_message_created",
    caliper_type="MessageEvent",
    action="Posted",
    object_type="Message",
    why="the 1.1 forum profile: a message posted to a Thread is "
    "MessageEvent/Posted with a Message (as discussion_entry_created)",
)
def conversation_message_created(ev: CanvasEvent, spec: MappingSpec) -> dict:
    message_id = ev.require_id("message_id")
    author_id = ev.body_id("author_id")
    obj = resource(
        urn("conversationMessage", message_id),
        "Message",
        {
            "isPartOf": ref("conversation", ev.body_id("conversation_id"), "Thread"),
            "creators": [ref("user", author_id, "Person")] if author_id is not None else None,
            "dateCreated": ev.body_ts("created_at"),
        },
        entity_id=message_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj, acting_user=author_id)
