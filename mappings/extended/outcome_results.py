"""Outcome results: a learner's rating against a learning outcome, as a GradeEvent (grading).

1.1 deprecates OutcomeEvent in favour of GradeEvent, so a result is an Attempt
graded with a Score (score of possible points); the mastery fields go with the Score.
"""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, ref, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY = (
    "1.1 deprecates OutcomeEvent for GradeEvent: a rating "
    "against an outcome is GradeEvent/Graded, the result an Attempt generating a Score "
    "(scoreGiven = score, maxScore = possible)"
)
# associated_asset_type -> (URN kind, Caliper type) of the Attempt's assignable
ASSETS = {"Assignment": ("assignment", "AssignableDigitalResource"), "Quizzes::Quiz": ("quiz", "Assessment")}


def _result_id(ev: CanvasEvent) -> str:
    """The result's own id (documented for _updated); without it, outcome and artifact name it."""
    result_id = ev.body_id("id")
    if result_id is not None:
        return result_id
    outcome_id = ev.require_id("learning_outcome_id")
    artifact_type = ev.body_id("artifact_type")
    artifact_id = ev.require_id("artifact_id")
    return f"{outcome_id}:{artifact_type or 'artifact'}:{artifact_id}"


@extended(
    "learning_outcome_result_created",
    caliper_type="GradeEvent",
    action="Graded",
    object_type="Attempt",
    why=WHY,
)
@extended(
    "learning_outcome_result_updated",
    caliper_type="GradeEvent",
    action="Graded",
    object_type="Attempt",
    why=WHY,
)
def learning_outcome_result(ev: CanvasEvent, spec: MappingSpec) -> dict:
    result_id = _result_id(ev)
    result_urn = urn("learningOutcomeResult", result_id)
    asset_type = ev.body_str("associated_asset_type")
    kind, asset_caliper_type = ASSETS.get(asset_type or "", ("asset", "DigitalResource"))
    attempt_fields = {
        "assignable": ref(kind, ev.body_id("associated_asset_id"), asset_caliper_type),
        "count": ev.body_int("attempt"),
        "dateCreated": ev.body_ts("created_at"),
        "dateModified": ev.body_ts("updated_at"),
    }
    obj = resource(
        result_urn,
        "Attempt",
        attempt_fields,
        carried(
            ev,
            "learning_outcome_id",
            "learning_outcome_context_uuid",
            "result_context_id",
            "result_context_type",
            "result_context_uuid",
            "user_uuid",
            "artifact_id",
            "artifact_type",
            "artifact_created_at",
            "artifact_updated_at",
            "associated_asset_id",
            "associated_asset_type",
        ),
        entity_id=result_id,
    )
    score = resource(
        result_urn,
        "Score",
        {
            "attempt": resource(result_urn, "Attempt", attempt_fields),
            "scoreGiven": ev.body_number("score"),
            "maxScore": ev.body_number("possible"),
        },
        carried(
            ev, "percent", "mastery", "original_score", "original_possible", "original_mastery", "assessed_at"
        ),
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj, generated=score)
