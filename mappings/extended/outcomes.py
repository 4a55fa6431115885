"""Learning outcomes, their groups, links, calculation methods and mastery scales (basic)."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, ref, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY_OUTCOME = (
    "our choice: an outcome is a 1.1 LearningObjective; its kind is learning_outcome, the kind "
    "Instructure's asset_accessed gives it, so the ids join; generic Event"
)
WHY_GROUP = (
    "our choice: an outcome group collects outcomes, a DigitalResourceCollection within its parent group"
)
WHY_SETTING = "our choice: an account or course setting of outcome scoring; no 1.1 type fits, so Entity"


@extended(
    "learning_outcome_created",
    caliper_type="Event",
    action="Created",
    object_type="LearningObjective",
    why=WHY_OUTCOME,
)
@extended(
    "learning_outcome_updated",
    caliper_type="Event",
    action="Modified",
    object_type="LearningObjective",
    why=WHY_OUTCOME,
)
def learning_outcome(ev: CanvasEvent, spec: MappingSpec) -> dict:
    outcome_id = ev.require_id("learning_outcome_id")
    obj = resource(
        urn("learning_outcome", outcome_id),
        "LearningObjective",
        {
            "name": ev.body_str("title"),
            "description": ev.body_str("description"),
            "dateModified": ev.body_ts("updated_at"),
        },
        carried(
            ev,
            "calculation_int",
            "calculation_method",
            "context_id",
            "context_type",
            "display_name",
            "short_description",
            "vendor_guid",
            "workflow_state",
            "rubric_criterion",
        ),
        entity_id=outcome_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "learning_outcome_group_created",
    caliper_type="Event",
    action="Created",
    object_type="DigitalResourceCollection",
    why=WHY_GROUP,
)
@extended(
    "learning_outcome_group_updated",
    caliper_type="Event",
    action="Modified",
    object_type="DigitalResourceCollection",
    why=WHY_GROUP,
)
def learning_outcome_group(ev: CanvasEvent, spec: MappingSpec) -> dict:
    group_id = ev.require_id("learning_outcome_group_id")
    parent = ref("learningOutcomeGroup", ev.body_id("parent_outcome_group_id"), "DigitalResourceCollection")
    obj = resource(
        urn("learningOutcomeGroup", group_id),
        "DigitalResourceCollection",
        {
            "name": ev.body_str("title"),
            "description": ev.body_str("description"),
            "isPartOf": parent,
            "dateModified": ev.body_ts("updated_at"),
        },
        carried(ev, "context_id", "context_type", "vendor_guid", "workflow_state"),
        entity_id=group_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


WHY_LINK = "our choice: the link placing an outcome in a context's outcome group; no 1.1 type fits, so Entity"


@extended(
    "learning_outcome_link_created",
    caliper_type="Event",
    action="Created",
    object_type="Entity",
    why=WHY_LINK,
)
@extended(
    "learning_outcome_link_updated",
    caliper_type="Event",
    action="Modified",
    object_type="Entity",
    why=WHY_LINK,
)
def learning_outcome_link(ev: CanvasEvent, spec: MappingSpec) -> dict:
    link_id = ev.require_id("learning_outcome_link_id")
    obj = resource(
        urn("learningOutcomeLink", link_id),
        "Entity",
        {"dateModified": ev.body_ts("updated_at")},
        carried(
            ev,
            "context_id",
            "context_type",
            "learning_outcome_group_id",
            "learning_outcome_id",
            "workflow_state",
        ),
        entity_id=link_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "outcome_calculation_method_created",
    caliper_type="Event",
    action="Created",
    object_type="Entity",
    why=WHY_SETTING,
)
@extended(
    "outcome_calculation_method_updated",
    caliper_type="Event",
    action="Modified",
    object_type="Entity",
    why=WHY_SETTING,
)
def outcome_calculation_method(ev: CanvasEvent, spec: MappingSpec) -> dict:
    method_id = ev.require_id("outcome_calculation_method_id")
    obj = resource(
        urn("outcomeCalculationMethod", method_id),
        "Entity",
        {"dateModified": ev.body_ts("updated_at")},
        carried(ev, "context_type", "context_id", "workflow_state", "calculation_int", "calculation_method"),
        entity_id=method_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "outcome_proficiency_created",
    caliper_type="Event",
    action="Created",
    object_type="Entity",
    why=WHY_SETTING,
)
@extended(
    "outcome_proficiency_updated",
    caliper_type="Event",
    action="Modified",
    object_type="Entity",
    why=WHY_SETTING,
)
def outcome_proficiency(ev: CanvasEvent, spec: MappingSpec) -> dict:
    proficiency_id = ev.require_id("outcome_proficiency_id")
    obj = resource(
        urn("outcomeProficiency", proficiency_id),
        "Entity",
        {"dateModified": ev.body_ts("updated_at")},
        carried(ev, "context_type", "context_id", "workflow_state", "outcome_proficiency_ratings"),
        entity_id=proficiency_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "outcomes.retry_outcome_alignment_clone",
    caliper_type="Event",
    action="Restarted",
    object_type="Entity",
    why="our choice: a user retries the copying of an assignment's outcome alignments into a new "
    "course, so Restarted; the body names no clone, so the object is the clone of the new "
    "assignment's resource link (its id)",
)
def retry_outcome_alignment_clone(ev: CanvasEvent, spec: MappingSpec) -> dict:
    link_id = ev.require_id("new_assignment_resource_link_id")
    obj = resource(
        urn("outcomeAlignmentClone", link_id),
        "Entity",
        None,
        carried(
            ev,
            "original_course_uuid",
            "new_course_uuid",
            "new_course_resource_link_id",
            "domain",
            "original_assignment_resource_link_id",
            "status",
        ),
        entity_id=link_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)
