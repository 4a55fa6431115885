"""The project's own Canvas events for tests: one school (lms.example.ac.uk), own ids and names."""

from __future__ import annotations

import copy

HOST = "lms.example.ac.uk"
APP = "http://lms.example.ac.uk/"
CANVAS = "com.instructure.canvas"
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"

META = {
    "root_account_id": "9000",
    "root_account_lti_guid": "lti-guid-9000.lms.example.ac.uk",
    "root_account_uuid": "Rt9000uuidAbCdEf",
    "user_id": "20001",
    "user_login": "ada@example.ac.uk",
    "user_sis_id": "SIS-20001",
    "user_account_id": "9000",
    "time_zone": "Europe/London",
    "context_type": "Course",
    "context_id": "3001",
    "context_account_id": "9012",
    "context_sis_source_id": "MATH-201",
    "context_role": "StudentEnrollment",
    "request_id": "0c7d9a52-0000-4000-8000-000000000001",
    "session_id": "5e5510dd00aa",
    "hostname": HOST,
    "http_method": "GET",
    "user_agent": UA,
    "client_ip": "192.0.2.44",
    "url": "https://lms.example.ac.uk/courses/3001",
    "referrer": "https://lms.example.ac.uk/courses/3001/modules",
    "producer": "canvas",
    "event_time": "2026-10-02T09:15:00.250Z",
}

JOB_META = {
    "root_account_id": "9000",
    "root_account_lti_guid": "lti-guid-9000.lms.example.ac.uk",
    "root_account_uuid": "Rt9000uuidAbCdEf",
    "job_id": "77001",
    "job_tag": "SIS::CSV::ImportRefactored#run_parallel_importer",
    "producer": "canvas",
    "event_time": "2026-10-02T03:00:00.000Z",
}

# Expected pieces, written out by hand from the rules (not produced by the code under test).
ACTOR = {
    "id": "urn:instructure:canvas:user:20001",
    "type": "Person",
    "extensions": {
        CANVAS: {
            "user_login": "ada@example.ac.uk",
            "user_sis_id": "SIS-20001",
            "root_account_id": "9000",
            "root_account_lti_guid": "lti-guid-9000.lms.example.ac.uk",
            "root_account_uuid": "Rt9000uuidAbCdEf",
            "entity_id": "20001",
        }
    },
}
EDAPP = {"id": APP, "type": "SoftwareApplication"}
GROUP = {
    "id": "urn:instructure:canvas:course:3001",
    "type": "CourseOffering",
    "extensions": {CANVAS: {"context_type": "Course", "entity_id": "3001"}},
}
MEMBERSHIP = {
    "id": "urn:instructure:canvas:course:3001:Learner:20001",
    "type": "Membership",
    "member": {"id": "urn:instructure:canvas:user:20001", "type": "Person"},
    "organization": {"id": "urn:instructure:canvas:course:3001", "type": "CourseOffering"},
    "roles": ["Learner"],
}
SESSION = {"id": "urn:instructure:canvas:session:5e5510dd00aa", "type": "Session"}
EXTENSIONS = {
    CANVAS: {
        "hostname": HOST,
        "request_id": "0c7d9a52-0000-4000-8000-000000000001",
        "user_agent": UA,
        "client_ip": "192.0.2.44",
        "request_url": "https://lms.example.ac.uk/courses/3001",
        "version": "1.0.0",
    }
}


def canvas_event(
    event_name: str, body: dict, *, meta: dict | None = None, drop: tuple = (), **changes
) -> dict:
    """A Canvas event: request metadata (or `meta`), minus `drop`, with `changes` applied."""
    metadata = copy.deepcopy(meta if meta is not None else META)
    for key in drop:
        metadata.pop(key, None)
    metadata.update(changes)
    metadata["event_name"] = event_name
    return {"metadata": metadata, "body": copy.deepcopy(body)}
