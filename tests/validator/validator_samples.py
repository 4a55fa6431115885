"""Hand-written Caliper 1.1 envelopes with the project's own values, for the validator tests.

Each function returns a fresh object, so a test may mutate it freely.
"""

from __future__ import annotations

import copy

HOST = "https://canvas.example.edu"
V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"

_PERSON = {"id": "urn:example:canvas:user:4301", "type": "Person", "name": "Ada Pemberton"}
_SECTION = {
    "id": "urn:example:canvas:course:88:section:12",
    "type": "CourseSection",
    "name": "Botany 101, section 2",
    "subOrganizationOf": {
        "id": "urn:example:canvas:course:88",
        "type": "CourseOffering",
        "name": "Botany 101",
    },
}
_NAVIGATION = {
    "@context": V1P1,
    "id": "urn:uuid:6f1c2a9e-7b4d-4c1a-9e2f-0a1b2c3d4e5f",
    "type": "NavigationEvent",
    "actor": _PERSON,
    "action": "NavigatedTo",
    "object": {
        "id": "urn:example:canvas:wikiPage:510",
        "type": "Page",
        "name": "Photosynthesis, an overview",
        "dateCreated": "2025-09-01T08:00:00.000Z",
        "dateModified": "2025-09-03T16:45:12.250Z",
        "isPartOf": {"id": "urn:example:canvas:course:88", "type": "CourseOffering"},
        "extensions": {"edu.example": {"word_count": 1250, "tags": ["plants", "light"]}},
    },
    "eventTime": "2025-10-02T09:30:15.120Z",
    "referrer": f"{HOST}/courses/88/modules",
    "edApp": {"id": f"{HOST}/", "type": "SoftwareApplication", "version": "2025-09"},
    "group": _SECTION,
    "membership": {
        "id": "urn:example:canvas:course:88:section:12:Learner:4301",
        "type": "Membership",
        "member": {"id": "urn:example:canvas:user:4301", "type": "Person"},
        "organization": {"id": "urn:example:canvas:course:88:section:12", "type": "CourseSection"},
        "roles": ["Learner", "Instructor#TeachingAssistant"],
        "status": "Active",
        "dateCreated": "2025-08-20T12:00:00.000Z",
    },
    "session": {
        "id": "urn:example:canvas:session:9a8b7c6d",
        "type": "Session",
        "startedAtTime": "2025-10-02T09:00:00.000Z",
        "duration": "PT30M15S",
    },
    "extensions": {"edu.example": {"request_id": "req-31337", "client_ip": "198.51.100.23"}},
}


def envelope(*items: dict) -> dict:
    """An envelope around the given events/entities."""
    return {
        "sensor": f"{HOST}/sensors/caliper",
        "sendTime": "2025-10-02T09:30:16.000Z",
        "dataVersion": V1P1,
        "data": [copy.deepcopy(i) for i in items],
    }


def navigation_event() -> dict:
    """NavigationEvent of a learner opening a wiki Page, in a CourseSection group (about 20 fields)."""
    return copy.deepcopy(_NAVIGATION)


def navigation_envelope() -> dict:
    return envelope(_NAVIGATION)


def event(event_type: str, action: str, obj: object, actor: object = None, **extra: object) -> dict:
    """A minimal event of the given type, action and object."""
    ev = {
        "@context": V1P1,
        "id": "urn:uuid:0d4c6b1e-2f3a-4b5c-8d9e-112233445566",
        "type": event_type,
        "actor": copy.deepcopy(_PERSON) if actor is None else actor,
        "action": action,
        "object": obj,
        "eventTime": "2025-10-02T10:00:00.000Z",
    }
    ev.update(extra)
    return ev


DOCUMENT = {"id": "urn:example:canvas:attachment:702", "type": "Document", "name": "lab-notes.pdf"}
MESSAGE = {"id": "urn:example:canvas:discussionEntry:66", "type": "Message", "body": "Chlorophyll!"}
THREAD = {"id": "urn:example:canvas:discussion:31", "type": "Thread", "name": "Week 3 questions"}
ATTEMPT = {
    "id": "urn:example:canvas:submission:9001",
    "type": "Attempt",
    "assignee": {"id": "urn:example:canvas:user:4301", "type": "Person"},
    "assignable": {"id": "urn:example:canvas:assignment:77", "type": "AssignableDigitalResource"},
    "count": 2,
}
QUIZ = {"id": "urn:example:canvas:quiz:15", "type": "Assessment", "name": "Leaves quiz", "maxScore": 10}
APP = {"id": f"{HOST}/", "type": "SoftwareApplication"}
VIDEO = {"id": "urn:example:media:3", "type": "VideoObject", "duration": "PT4M2S"}
