"""Shared pieces every mapping is built from: ids, actor, group and membership, request context,
the event skeleton. Mapping modules import from here so each reads as its field table."""

from mappings.builders.actor import actor_for, person
from mappings.builders.event import base_event, entity, event_time, move_to_extensions, standard_event
from mappings.builders.group import context_group, course_group, membership, role_of, section_group
from mappings.builders.ids import CANVAS, app_url, course_urn, section_urn, urn, user_urn

__all__ = [
    "CANVAS",
    "actor_for",
    "app_url",
    "base_event",
    "context_group",
    "course_group",
    "course_urn",
    "entity",
    "event_time",
    "membership",
    "move_to_extensions",
    "person",
    "role_of",
    "section_group",
    "section_urn",
    "standard_event",
    "urn",
    "user_urn",
]
