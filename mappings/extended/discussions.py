"""Discussions beyond Instructure's two: topic updates and replies to graded topics."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, ref, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec


@extended(
    "discussion_topic_updated",
    caliper_type="Event",
    action="Modified",
    object_type="Thread",
    why="the strict form of Instructure's discussion_topic_created (Event with the Thread), with "
    "action Modified; 1.1 has no ThreadEvent/Modified",
)
def discussion_topic_updated(ev: CanvasEvent, spec: MappingSpec) -> dict:
    topic_id = ev.require_id("discussion_topic_id")
    obj = resource(
        urn("discussion", topic_id),
        "Thread",
        {"name": ev.body_str("title"), "dateModified": ev.body_ts("updated_at")},
        carried(
            ev,
            "assignment_id",
            "body",
            "context_id",
            "context_type",
            "is_announcement",
            "lock_at",
            "workflow_state",
        ),
        entity_id=topic_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "discussion_entry_submitted",
    caliper_type="AssignableEvent",
    action="Submitted",
    object_type="AssignableDigitalResource",
    why="1.1 assignable profile: a reply to a graded topic is the learner's submission of the "
    "topic's assignment (object), generating the Attempt; Canvas also sends "
    "discussion_entry_created (MessageEvent/Posted) for the same reply, so it is not a second post",
)
def discussion_entry_submitted(ev: CanvasEvent, spec: MappingSpec) -> dict:
    assignment_id = ev.require_id("assignment_id")
    user_id = ev.body_id("user_id")
    assignment = ref("assignment", assignment_id, "AssignableDigitalResource")
    attempt = None
    submission_id = ev.body_id("submission_id")
    if submission_id is not None:
        attempt = resource(
            urn("submission", submission_id),
            "Attempt",
            {
                "assignee": ref("user", user_id, "Person"),
                "assignable": dict(assignment),  # type: ignore[arg-type]
                "dateCreated": ev.body_ts("created_at"),
            },
            entity_id=submission_id,
        )
    obj = resource(
        assignment["id"],  # type: ignore[index]
        "AssignableDigitalResource",
        None,
        carried(ev, "discussion_entry_id", "discussion_topic_id", "parent_discussion_entry_id", "text"),
        entity_id=assignment_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj, generated=attempt, acting_user=user_id)
