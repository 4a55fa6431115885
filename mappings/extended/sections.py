"""Course sections (basic profile), named as Instructure names the section group of enrollments."""

from __future__ import annotations

from mappings.builders import course_urn, section_urn
from mappings.builders.extended import carried, conformant_event, resource
from mappings.extended import extended
from mappings.model import CanvasEvent
from mappings.registry import MappingSpec

WHY = (
    "our choice: a generic Event on a 1.1 CourseSection, subOrganizationOf its CourseOffering, "
    "with the id Instructure's enrollment events give the section (course:<c>:section:<s>); the "
    "group is the course"
)


@extended(
    "course_section_created", caliper_type="Event", action="Created", object_type="CourseSection", why=WHY
)
@extended(
    "course_section_updated", caliper_type="Event", action="Modified", object_type="CourseSection", why=WHY
)
def course_section(ev: CanvasEvent, spec: MappingSpec) -> dict:
    course_id = ev.require_id("course_id")
    section_id = ev.require_id("course_section_id")
    obj = resource(
        section_urn(course_id, section_id),
        "CourseSection",
        {
            "name": ev.body_str("name"),
            "subOrganizationOf": {"id": course_urn(course_id), "type": "CourseOffering"},
        },
        carried(
            ev,
            "accepting_enrollments",
            "can_manually_enroll",
            "default_section",
            "start_at",
            "end_at",
            "enrollment_term_id",
            "integration_id",
            "nonxlist_course_id",
            "restrict_enrollments_to_section_dates",
            "root_account_id",
            "sis_batch_id",
            "sis_source_id",
            "stuck_sis_fields",
            "workflow_state",
        ),
        entity_id=section_id,
    )
    return conformant_event(ev, spec.caliper_type, spec.action, obj, course_id=course_id)
