"""rubric_assessed: a submission (or other artifact) assessed with a rubric (grading profile)."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

# artifact_type -> URN kind of the assessed artifact (a Submission joins grade_change's Attempt)
ARTIFACT_KINDS = {"Submission": "submission", "Quizzes::QuizSubmission": "quizSubmission"}


@extended(
    "rubric_assessed",
    caliper_type="GradeEvent",
    action="Graded",
    object_type="Attempt",
    why="an assessment with a rubric grades the artifact (the Attempt, a "
    "submission's id joins grade_change) generating a Score named by the rubric assessment and "
    "scored by the actor; the body carries no points, so the Score has no scoreGiven",
)
def rubric_assessed(ev: CanvasEvent, spec: MappingSpec) -> dict:
    assessment_id = ev.require_id("id")
    artifact_id = ev.require_id("artifact_id")
    artifact_type = ev.body_str("artifact_type")
    kind = ARTIFACT_KINDS.get(artifact_type or "", "artifact")
    attempt = resource(urn(kind, artifact_id), "Attempt", {"count": ev.body_int("attempt")})
    obj = resource(
        attempt["id"],
        "Attempt",
        {"count": ev.body_int("attempt")},
        carried(ev, "artifact_type", "context_uuid", "submitted_at"),
        entity_id=artifact_id,
    )
    event = conformant_event(ev, spec.caliper_type, spec.action, obj)
    actor = event["actor"]
    event["generated"] = resource(
        urn("rubricAssessment", assessment_id),
        "Score",
        {
            "attempt": attempt,
            "scoredBy": actor["id"] if actor["type"] == "Person" else None,
            "dateCreated": ev.body_ts("created_at"),
            "dateModified": ev.body_ts("updated_at"),
        },
        carried(ev, "aligned_to_outcomes", "assessment_type"),
        entity_id=assessment_id,
    )
    return event
