"""Submissions beyond Instructure's two: comments on them and plagiarism resubmissions."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, ref, resource
from mappings.errors import MappingError
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec


def _attachments(ev: CanvasEvent) -> list[dict] | None:
    ids = ev.body.get("attachment_ids")
    if ids is None:
        return None
    if type(ids) is not list:
        raise MappingError("map", "body.attachment_ids: expected an array of ids", "body.attachment_ids")
    out = []
    for i, value in enumerate(ids):
        if value is None:
            continue
        if type(value) is int:
            value = str(value)
        if type(value) is not str or not (value.isascii() and value.isalnum()):
            raise MappingError("map", f"body.attachment_ids[{i}]: expected an id", "body.attachment_ids")
        out.append({"id": urn("attachment", value), "type": "Document"})
    return out or None


@extended(
    "submission_comment_created",
    caliper_type="MessageEvent",
    action="Posted",
    object_type="Message",
    why="our choice: a comment on a submission is a 1.1 Message (body, attachments as Documents, "
    "isPartOf the submission's Attempt) posted by its author, so MessageEvent/Posted",
)
def submission_comment_created(ev: CanvasEvent, spec: MappingSpec) -> dict:
    comment_id = ev.require_id("submission_comment_id")
    author_id = ev.body_id("user_id")
    obj = resource(
        urn("submissionComment", comment_id),
        "Message",
        {
            "body": ev.body_str("body"),
            "attachments": _attachments(ev),
            "isPartOf": ref("submission", ev.body_id("submission_id"), "Attempt"),
            "creators": [ref("user", author_id, "Person")] if author_id is not None else None,
            "dateCreated": ev.body_ts("created_at"),
        },
        entity_id=comment_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj, acting_user=author_id)


@extended(
    "plagiarism_resubmit",
    caliper_type="Event",
    action="Submitted",
    object_type="Attempt",
    why="our choice: a teacher (not the learner) resubmits a submission to the plagiarism service, "
    "so not AssignableEvent (whose Submitted is the learner's); a generic Event/Submitted on the "
    "Attempt, shaped as Instructure's submission_created Attempt",
)
def plagiarism_resubmit(ev: CanvasEvent, spec: MappingSpec) -> dict:
    submission_id = ev.require_id("submission_id")
    obj = resource(
        urn("submission", submission_id),
        "Attempt",
        {
            "assignee": ref("user", ev.body_id("user_id"), "Person"),
            "assignable": ref("assignment", ev.body_id("assignment_id"), "AssignableDigitalResource"),
            "count": ev.body_int("attempt"),
            "dateModified": ev.body_ts("updated_at"),
        },
        carried(
            ev,
            "body",
            "grade",
            "graded_at",
            "group_id",
            "lti_assignment_id",
            "lti_user_id",
            "score",
            "submission_type",
            "submitted_at",
            "url",
            "workflow_state",
        ),
        entity_id=submission_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)
