"""Content migrations (course copy, imports) and blueprint syncs: Started/Completed (basic)."""

from __future__ import annotations

from mappings.builders import urn
from mappings.builders.extended import carried, conformant_event, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY = (
    "our choice: a migration is a job with a start and an end, the generic Event's Started and "
    "Completed; no 1.1 entity type describes a job, so Entity; group = the destination course"
)


@extended("content_migration_started", caliper_type="Event", action="Started", object_type="Entity", why=WHY)
@extended(
    "content_migration_completed", caliper_type="Event", action="Completed", object_type="Entity", why=WHY
)
def content_migration(ev: CanvasEvent, spec: MappingSpec) -> dict:
    migration_id = ev.require_id("content_migration_id")
    obj = resource(
        urn("contentMigration", migration_id),
        "Entity",
        None,
        carried(
            ev,
            "context_id",
            "context_type",
            "context_uuid",
            "import_quizzes_next",
            "lti_context_id",
            "source_course_lti_id",
            "source_course_uuid",
            "destination_course_lti_id",
            "migration_type",
            "domain",
        ),
        entity_id=migration_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj)


@extended(
    "master_migration_started",
    caliper_type="Event",
    action="Started",
    object_type="Entity",
    why="as content_migration_started; the blueprint course is the group (the event has no context)",
)
def master_migration_started(ev: CanvasEvent, spec: MappingSpec) -> dict:
    migration_id = ev.require_id("master_migration_id")
    obj = resource(
        urn("masterMigration", migration_id),
        "Entity",
        None,
        carried(
            ev,
            "master_template_id",
            "account_id",
            "account_uuid",
            "blueprint_course_id",
            "blueprint_course_uuid",
        ),
        entity_id=migration_id,
    )
    return conformant_event(
        ev, spec.caliper_type, spec.action, obj, course_id=ev.body_id("blueprint_course_id")
    )
