"""The validator on the project's own hand-written envelopes: what passes, what fails and why."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.validator import Violation, is_event, validate_entity, validate_envelope, validate_event
from tests.validator.validator_samples import (
    APP,
    ATTEMPT,
    DOCUMENT,
    MESSAGE,
    QUIZ,
    THREAD,
    VIDEO,
    envelope,
    event,
    navigation_envelope,
    navigation_event,
)


def paths(violations: list[Violation]) -> set[str]:
    return {v.path for v in violations}


def only(violations: list[Violation], path: str, *words: str) -> Violation:
    """Exactly one violation, at `path`, whose message holds all `words`."""
    assert [v.path for v in violations] == [path], violations
    for w in words:
        assert w in violations[0].message, violations[0]
    return violations[0]


# --- positives ----------------------------------------------------------------------------------


def test_navigation_envelope_with_subtypes_passes():
    # Page as DigitalResource, CourseSection as Organization, sub-role, status, duration, extensions.
    assert validate_envelope(navigation_envelope()) == []
    assert validate_envelope(navigation_envelope(), tolerant=True) == []


@pytest.mark.parametrize(
    ("event_type", "action", "obj"),
    [
        ("AnnotationEvent", "Liked", DOCUMENT),  # deprecated action, still valid 1.1
        ("AssignableEvent", "Hid", {"id": "urn:example:a:1", "type": "AssignableDigitalResource"}),
        ("MediaEvent", "Rewound", VIDEO),  # deprecated action
        ("AssessmentItemEvent", "Viewed", {"id": "urn:example:q:1:item:2", "type": "AssessmentItem"}),
        ("ReadingEvent", "Viewed", DOCUMENT),  # deprecated event type
        ("AssessmentEvent", "Started", QUIZ),  # Assessment has two supertypes
        ("AssignableEvent", "Activated", QUIZ),  # ... one of which is AssignableDigitalResource
        ("MessageEvent", "Posted", MESSAGE),
        ("ThreadEvent", "MarkedAsUnread", THREAD),
        ("NavigationEvent", "NavigatedTo", APP),  # SoftwareApplication is allowed as object
        ("ViewEvent", "Viewed", THREAD),  # Thread is a DigitalResourceCollection is a DigitalResource
        ("Event", "Created", {"id": "urn:example:canvas:enrollment:5", "type": "Entity"}),
        ("Event", "Searched", DOCUMENT),
        ("ToolUseEvent", "Used", APP),
    ],
)
def test_allowed_action_and_object_pass(event_type, action, obj):
    assert validate_envelope(envelope(event(event_type, action, obj))) == []


def test_iri_strings_instead_of_entities_pass():
    ev = event("NavigationEvent", "NavigatedTo", "https://canvas.example.edu/courses/88/pages/leaves")
    ev["actor"] = "urn:example:canvas:user:4301"
    ev["edApp"] = "https://canvas.example.edu/"
    assert validate_envelope(envelope(ev)) == []


def test_session_event_action_constraints():
    session = {"id": "urn:example:canvas:session:1", "type": "Session"}
    assert validate_envelope(envelope(event("SessionEvent", "LoggedIn", APP))) == []
    assert validate_envelope(envelope(event("SessionEvent", "TimedOut", session, actor=APP))) == []
    # TimedOut is done by the application to a Session, never by a Person.
    v = validate_envelope(envelope(event("SessionEvent", "TimedOut", session)))
    only(v, "data[0].actor.type", "SoftwareApplication", "Person")
    v = validate_envelope(envelope(event("SessionEvent", "LoggedIn", session)))
    only(v, "data[0].object.type", "SoftwareApplication", "Session")


def test_grade_event_by_software_passes():
    score = {
        "id": "urn:example:canvas:submission:9001:score",
        "type": "Score",
        "scoreGiven": 7,
        "maxScore": 10,
    }
    ev = event("GradeEvent", "Graded", ATTEMPT, actor=APP, generated=score)
    assert validate_envelope(envelope(ev)) == []


def test_envelope_of_entities_and_mixed_batch_passes():
    person = {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "id": "urn:example:u:1",
        "type": "Person",
    }
    assert validate_envelope(envelope(person, DOCUMENT, navigation_event())) == []


def test_context_as_list_passes():
    ev = navigation_event()
    ev["@context"] = [{"leaf": "http://example.edu/vocab/leaf"}, "http://purl.imsglobal.org/ctx/caliper/v1p1"]
    assert validate_event(ev) == []


def test_is_event():
    assert is_event({"type": "Event"}) and is_event({"type": "MediaEvent"})
    assert not is_event({"type": "Person"}) and not is_event({"id": "x"})


def test_violation_str():
    assert str(Violation("data[0].action", "bad")) == "data[0].action: bad"


# --- negatives: envelope ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("sendTime", "2025-10-02T09:30:16Z", ["sendTime", "YYYY-MM-DDTHH:mm:ss.SSSZ"]),
        ("sendTime", "2025-10-02T09:30:16.000+00:00", ["sendTime"]),
        ("sendTime", "2025-02-30T09:30:16.000Z", ["sendTime", "real date"]),
        ("sendTime", "2025-10-02T24:30:16.000Z", ["sendTime", "real date"]),
        ("sendTime", 1759397416000, ["sendTime", "number"]),
        ("dataVersion", "http://purl.imsglobal.org/ctx/caliper/v1p0", ["dataVersion", "v1p1"]),
        ("sensor", "canvas sensor", ["sensor", "IRI"]),
        ("sensor", None, ["sensor", "null"]),
        ("data", [], ["data", "non-empty"]),
        ("data", {"type": "Event"}, ["data", "array"]),
    ],
)
def test_bad_envelope_fields(key, value, words):
    env = navigation_envelope()
    env[key] = value
    only(validate_envelope(env), key, *words)


def test_extra_and_missing_envelope_keys():
    env = navigation_envelope()
    env["topic"] = "caliper.reading"
    del env["sensor"]
    v = validate_envelope(env, tolerant=True)
    assert paths(v) == {"topic", "sensor"}
    assert any("topic" in x.message and "not an envelope property" in x.message for x in v)
    assert any("sensor" in x.message and "required" in x.message for x in v)


def test_not_an_object_and_bare_event():
    only(validate_envelope([navigation_event()]), "envelope", "array")
    only(validate_envelope(navigation_event()), "envelope", "bare", "event")
    env = navigation_envelope()
    env["data"].append("urn:example:x")
    only(validate_envelope(env), "data[1]", "string")


# --- negatives: events --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "action", "obj", "path", "words"),
    [
        ("ThreadEvent", "Deleted", THREAD, "action", ["Deleted", "ThreadEvent"]),
        ("MessageEvent", "Viewed", MESSAGE, "action", ["Viewed", "MessageEvent"]),
        ("NavigationEvent", "Jumped", DOCUMENT, "action", ["Jumped", "not a Caliper 1.1 action"]),
        ("MessageEvent", "Posted", THREAD, "object.type", ["object", "Message", "Thread"]),
        ("MediaEvent", "Paused", DOCUMENT, "object.type", ["object", "MediaObject"]),
        ("ForumEvent", "Subscribed", THREAD, "object.type", ["Forum"]),
        ("AssessmentEvent", "Submitted", DOCUMENT, "object.type", ["Assessment"]),
        ("ViewEvent", "Viewed", ATTEMPT, "object.type", ["DigitalResource", "Attempt"]),
        ("ClickEvent", "Viewed", DOCUMENT, "type", ["ClickEvent"]),
    ],
)
def test_wrong_action_or_object_type_fails_in_both_modes(event_type, action, obj, path, words):
    for tolerant in (False, True):
        only(
            validate_envelope(envelope(event(event_type, action, obj)), tolerant=tolerant),
            f"data[0].{path}",
            *words,
        )


def test_actor_type_not_allowed():
    group = {"id": "urn:example:canvas:group:4", "type": "Group"}
    v = validate_envelope(
        envelope(event("NavigationEvent", "NavigatedTo", DOCUMENT, actor=group)), tolerant=True
    )
    only(v, "data[0].actor.type", "Person", "Group")


@pytest.mark.parametrize("key", ["@context", "id", "type", "actor", "action", "object", "eventTime"])
def test_missing_required_event_property(key):
    ev = navigation_event()
    del ev[key]
    v = validate_event(ev, path="data[0]")
    assert f"data[0].{key}" in paths(v)
    assert any(x.path == f"data[0].{key}" and "required" in x.message for x in v)


@pytest.mark.parametrize(
    ("mutate", "path", "words"),
    [
        (lambda e: e.update(id="urn:uuid:6f1c2a9e-7b4d-4c1a-9e2f"), "id", ["urn:uuid"]),
        (lambda e: e.update(id="6f1c2a9e-7b4d-4c1a-9e2f-0a1b2c3d4e5f"), "id", ["urn:uuid"]),
        (
            lambda e: e.update({"@context": "http://purl.imsglobal.org/ctx/caliper/v1p0"}),
            "@context",
            ["v1p1"],
        ),
        (lambda e: e.update(eventTime="2025-10-02 09:30:15"), "eventTime", ["eventTime"]),
        (lambda e: e.update(eventTime="2025-13-02T09:30:15.120Z"), "eventTime", ["real date"]),
        (lambda e: e.update(course_id="88"), "course_id", ["course_id", "extensions"]),
        (lambda e: e.update(referrer=None), "referrer", ["null"]),
        (
            lambda e: e["extensions"]["edu.example"].update(client_ip=None),
            "extensions.edu.example.client_ip",
            ["null"],
        ),
        (lambda e: e["object"].update(dateModified="yesterday"), "object.dateModified", ["dateModified"]),
        (lambda e: e["object"].update(email="x@example.edu"), "object.email", ["email", "Page"]),
        (lambda e: e["object"].update(type="Leaflet"), "object.type", ["Leaflet"]),
        (lambda e: e["object"].pop("id"), "object.id", ["id", "required"]),
        (lambda e: e["object"].update(id="not an iri"), "object.id", ["IRI"]),
        (lambda e: e["object"]["isPartOf"].update(name=None), "object.isPartOf.name", ["null"]),
        (lambda e: e["membership"].update(roles=["Gardener"]), "membership.roles[0]", ["Gardener"]),
        (lambda e: e["membership"].update(roles="Learner"), "membership.roles", ["array"]),
        (lambda e: e["membership"].update(status="Pending"), "membership.status", ["Pending"]),
        (lambda e: e["membership"]["member"].update(type="Group"), "membership.member.type", ["Person"]),
        (
            lambda e: e.update(group={"id": "urn:example:u:2", "type": "Person"}),
            "group.type",
            ["Organization"],
        ),
        (lambda e: e["session"].update(duration="30 minutes"), "session.duration", ["duration"]),
        (lambda e: e.update(target=DOCUMENT), "target.type", ["Frame"]),
        (lambda e: e.update(edApp=["https://canvas.example.edu/"]), "edApp", ["array"]),
    ],
)
def test_event_mutations(mutate, path, words):
    ev = navigation_event()
    assert validate_event(ev) == []
    mutate(ev)
    for tolerant in (False, True):
        only(validate_envelope(envelope(ev), tolerant=tolerant), f"data[0].{path}", *words)


def test_grade_event_target_is_not_applicable():
    frame = {"id": "urn:example:frame:1", "type": "Frame"}
    v = validate_envelope(envelope(event("GradeEvent", "Graded", ATTEMPT, target=frame)))
    only(v, "data[0].target", "target", "GradeEvent")


def test_several_violations_are_all_reported():
    ev = navigation_event()
    ev["action"] = "Viewed"
    ev["eventTime"] = "2025-10-02"
    ev["object"] = {"id": "urn:example:canvas:user:4302", "type": "Person"}
    assert paths(validate_event(ev, path="data[0]")) == {
        "data[0].action",
        "data[0].eventTime",
        "data[0].object.type",
    }


def test_validate_entity_and_event_reject_non_objects():
    only(validate_entity("urn:example:x"), "entity", "object")
    only(validate_event(None), "event", "null")
    assert validate_entity({"id": "urn:example:canvas:course:88:section:12", "type": "CourseSection"}) == []


# --- tolerant mode: exactly the documented deviations -------------------------------------------


@pytest.mark.parametrize(
    ("ev", "path"),
    [
        (event("ThreadEvent", "Created", THREAD), "action"),
        (event("AssignableEvent", "Submitted", ATTEMPT), "object.type"),
        (event("AssessmentEvent", "Submitted", ATTEMPT), "object.type"),
        (
            event("NavigationEvent", "NavigatedTo", {"id": "urn:example:canvas:account:1", "type": "Entity"}),
            "object.type",
        ),
        (event("NavigationEvent", "NavigatedTo", DOCUMENT, actor=APP), "actor.type"),
        (event("MessageEvent", "Posted", MESSAGE, actor=APP), "actor.type"),
        (event("SessionEvent", "LoggedOut", APP, actor=APP), "actor.type"),
        (
            event(
                "Event",
                "Modified",
                {"id": "urn:example:o:1", "type": "Entity", "dateToShow": "2025-10-09T00:00:00.000Z"},
            ),
            "object.dateToShow",
        ),
        (
            event(
                "Event",
                "Created",
                {
                    "id": "urn:example:g:1",
                    "type": "Group",
                    "isPartOf": {"id": "urn:example:gc:1", "type": "Entity"},
                },
            ),
            "object.isPartOf",
        ),
        (
            event(
                "Event", "Modified", {"id": "urn:example:s:1", "type": "Document", "body": "<p>Syllabus</p>"}
            ),
            "object.body",
        ),
    ],
)
def test_documented_deviation_fails_strict_passes_tolerant(ev, path):
    only(validate_envelope(envelope(ev)), f"data[0].{path}")
    assert validate_envelope(envelope(ev), tolerant=True) == []


@pytest.mark.parametrize(
    "ev",
    [
        event("ThreadEvent", "Modified", THREAD),  # only Created is tolerated
        event("MessageEvent", "Posted", ATTEMPT),  # Attempt object only on Assignable/AssessmentEvent
        event(
            "NavigationEvent", "NavigatedTo", {"id": "urn:example:p:1", "type": "Person"}
        ),  # only plain Entity
        event("ViewEvent", "Viewed", {"id": "urn:example:canvas:account:1", "type": "Entity"}),
        event(
            "NavigationEvent",
            "NavigatedTo",
            DOCUMENT,
            actor={"id": "urn:example:o:1", "type": "Organization"},
        ),
        event("Event", "Modified", {"id": "urn:example:o:1", "type": "Entity", "dueDate": "2025-10-09"}),
        event(
            "Event",
            "Modified",
            {"id": "urn:example:o:1", "type": "Page", "dateToShow": "2025-10-09T00:00:00.000Z"},
        ),
    ],
)
def test_tolerant_mode_accepts_nothing_else(ev):
    assert len(validate_envelope(envelope(ev), tolerant=True)) == 1


# --- cost -----------------------------------------------------------------------------------------


def test_validation_is_cheap():
    env = navigation_envelope()
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        validate_envelope(env)
    per_envelope = (time.perf_counter() - start) / n
    # Typically ~20 µs; the bound is loose for shared CI machines.
    assert per_envelope < 0.002


# --- robustness -----------------------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "@context",
        "id",
        "type",
        "actor",
        "action",
        "object",
        "eventTime",
        "target",
        "generated",
        "group",
        "membership",
        "roles",
        "status",
        "member",
        "extensions",
        "items",
        "isPartOf",
        "duration",
        "dateCreated",
        "sensor",
        "sendTime",
        "dataVersion",
        "data",
        "name",
    ]
)
_TYPES = st.sampled_from(
    ["Event", "NavigationEvent", "SessionEvent", "Person", "Membership", "Page", "Entity", "X"]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8) | _TYPES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(doc=_JSON, item=st.dictionaries(_KEYS, _JSON, max_size=8))
def test_never_raises_on_any_json(doc, item):
    for tolerant in (False, True):
        for value in (doc, envelope(item), {**navigation_envelope(), "data": [item, doc]}):
            found = validate_envelope(value, tolerant=tolerant)
            assert isinstance(found, list) and all(isinstance(v, Violation) for v in found)


def test_absurdly_deep_nesting_is_a_violation_not_a_crash():
    ev = navigation_event()
    deep: dict = {"id": "urn:example:p:0", "type": "Page"}
    node = deep
    for i in range(5000):
        node["isPartOf"] = {"id": f"urn:example:p:{i + 1}", "type": "Page"}
        node = node["isPartOf"]
    ev["object"] = deep
    env = navigation_envelope()
    env["data"] = [ev]  # no deep copy: copy.deepcopy itself would overflow
    v = validate_envelope(env)
    only(v, "data[0]", "too deeply")
    only(validate_event(ev), "event", "too deeply")


def test_long_values_are_cut_short_in_messages():
    ev = navigation_event()
    ev["action"] = "Jumped" * 1000
    [v] = validate_event(ev)
    assert len(v.message) < 200
