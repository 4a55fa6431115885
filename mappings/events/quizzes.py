"""Quizzes: created/updated as Assessments (basic), submitted as an AssessmentEvent (assessment)."""

from __future__ import annotations

from mappings.builders import actor_for, base_event, context_group, entity, membership, urn
from mappings.errors import MappingError
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec, mapping

# Documented quiz fields Instructure's form leaves out (extended mode keeps leaving them out).
QUIZ_SETTINGS = (
    "allowed_attempts",
    "anonymous_submissions",
    "assignment_id",
    "cant_go_back",
    "context_id",
    "context_type",
    "context_uuid",
    "description",
    "disable_timer_autosubmission",
    "hide_correct_answers_at",
    "hide_results",
    "ip_filter",
    "lock_at",
    "one_question_at_a_time",
    "one_time_results",
    "only_visible_to_overrides",
    "require_lockdown_browser",
    "require_lockdown_browser_for_results",
    "scoring_policy",
    "show_correct_answers",
    "show_correct_answers_at",
    "show_correct_answers_last_attempt",
    "shuffle_answers",
)


@mapping(
    "quiz_created",
    object_type="Assessment",
    ignores=QUIZ_SETTINGS,
    caliper_type="Event",
    action="Created",
)
@mapping(
    "quiz_updated",
    object_type="Assessment",
    ignores=QUIZ_SETTINGS,
    caliper_type="Event",
    action="Modified",
)
def quiz(ev: CanvasEvent, spec: MappingSpec) -> dict:
    body = ev.body
    obj = entity(
        "quiz",
        ev.require_id("quiz_id"),
        "Assessment",
        {
            "name": ev.body_str("title"),
            "dateCreated" if spec.action == "Created" else "dateModified": ev.body_ts("updated_at"),
            "dateToShow": ev.body_ts("unlock_at"),
            "dateToSubmit": ev.body_ts("due_at"),
            "maxScore": ev.body_number("points_possible"),
        },
        {
            "quiz_type": body.get("quiz_type"),
            "time_limit": body.get("time_limit"),
            "access_code": body.get("access_code"),
            "workflow_state": body.get("workflow_state"),
        },
    )
    actor, user_id = actor_for(ev)
    group = context_group(ev)
    member = membership(ev, group, user_id) if group is not None and user_id is not None else None
    return base_event(ev, spec.caliper_type, spec.action, obj, actor=actor, group=group, membership=member)


def _attempt_generated(event: dict) -> None:
    """Strict: an AssessmentEvent's object is the Assessment; the Attempt is what it generated."""
    if event["type"] != "AssessmentEvent":  # job-generated: a plain Event keeps the Attempt
        return
    attempt = event["object"]
    assessment = attempt.get("assignable")
    if assessment is None:
        raise MappingError("map", "body.quiz_id is required for the strict quiz_submitted", "body.quiz_id")
    event["object"] = dict(assessment)
    event["generated"] = attempt


@mapping(
    "quiz_submitted",
    object_type="Attempt (strict: Assessment, generating the Attempt)",
    caliper_type="AssessmentEvent",
    action="Submitted",
    strict=_attempt_generated,
)
def quiz_submitted(ev: CanvasEvent, spec: MappingSpec) -> dict:
    quiz_id = ev.body_id("quiz_id")
    actor, user_id = actor_for(ev)
    obj = entity(
        "submission",
        ev.require_id("submission_id"),
        "Attempt",
        {
            # The quiz taker is the actor (documented); without a known person there is no assignee.
            "assignee": {"id": actor["id"], "type": "Person"} if actor["type"] == "Person" else None,
            "assignable": {"id": urn("quiz", quiz_id), "type": "Assessment"} if quiz_id else None,
        },
    )
    group = context_group(ev)
    member = membership(ev, group, user_id) if group is not None and user_id is not None else None
    return base_event(ev, spec.caliper_type, spec.action, obj, actor=actor, group=group, membership=member)
