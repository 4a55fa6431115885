"""`--strict`: the spec-conformant form of Instructure's documented deviations (decision 9).

Per-mapping rewrites (a Thread created, an Attempt submitted, an Entity navigated to) live with
their mappings as `strict=` hooks and `strict_type=`; this module holds the one rule that applies
to every event: a type whose 1.1 rules require a Person actor becomes a generic `Event` (same
action, same documented object) when the actor is the Canvas application, e.g. job-generated.
A hook is called after that rule and reads `event["type"]` to see whether it applied.
"""

from __future__ import annotations

from mappings.registry import MappingSpec

# Types whose actor must be a Person in Caliper 1.1 (caliper-1.1 rules, Appendix B); SessionEvent
# allows a SoftwareApplication only for TimedOut, which Canvas never sends.
PERSON_ACTOR_TYPES = frozenset(
    {
        "AnnotationEvent",
        "AssessmentEvent",
        "AssessmentItemEvent",
        "AssignableEvent",
        "ForumEvent",
        "MediaEvent",
        "MessageEvent",
        "NavigationEvent",
        "ReadingEvent",
        "SessionEvent",
        "ThreadEvent",
        "ToolUseEvent",
        "ViewEvent",
    }
)


def strict_form(event: dict, spec: MappingSpec) -> dict:
    """Rewrite `event` (in place, and return it) into its strict form.

    The generic fallback to `Event` comes first; the mapping's own hook then sees the event's
    type and restructures only what still needs it (a plain Event keeps its documented object).
    """
    actor = event.get("actor")
    fallback = event.get("type") in PERSON_ACTOR_TYPES and (
        type(actor) is not dict or actor.get("type") != "Person"
    )
    if fallback:
        event["type"] = "Event"
    if spec.strict is not None:
        spec.strict(event)
    if not fallback and spec.strict_type != spec.caliper_type and event.get("type") == spec.caliper_type:
        event["type"] = spec.strict_type
    return event
