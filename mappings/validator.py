"""Caliper 1.1 conformance checks for envelopes, events and entities.

The worker may run this on every envelope it produces, so it is built for speed: the rule tables of
`mappings.caliper_rules` become frozensets and dicts once at import, and each envelope is checked
in one recursive walk with no JSON-schema engine. Every problem is reported as a `Violation`
naming the field path (`data[0].object.type`) rather than stopping at the first.

Policy choices the specification leaves open:
- Deprecated actions (e.g. AnnotationEvent `Liked`, MediaEvent `Rewound`) and deprecated event
  types (ReadingEvent, OutcomeEvent) are still valid 1.1 and are accepted without a violation.
- Date-time values must use the form the specification prescribes for Caliper date-times,
  `YYYY-MM-DDTHH:mm:ss.SSSZ` (UTC, milliseconds), and be a real date.
- An IRI string is accepted wherever an entity is expected; its type cannot be checked then.
- Free-form JSON (`extensions`, LtiSession `messageParameters`, `@context`) is only checked for
  nulls; custom properties anywhere else are violations.

`tolerant=True` accepts exactly the deviations from 1.1 found in Instructure's documented Canvas
Caliper examples (see `TOLERATED`), so that the default (Instructure-compatible) output validates;
the strict mapping output must pass without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from mappings import caliper_rules as R

__all__ = ["TOLERATED", "Violation", "is_event", "validate_entity", "validate_envelope", "validate_event"]


@dataclass(frozen=True, slots=True)
class Violation:
    path: str  # e.g. "data[0].action", "sendTime"
    message: str  # names the field and what is wrong

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# Deviations from Caliper 1.1 accepted in tolerant mode, each one present in Instructure's
# documented Caliper examples (canvas-lms doc/api/data_services/json/caliper/event-types/).
TOLERATED: tuple[str, ...] = (
    # MAPPING-RULES decision 9:
    "ThreadEvent with action Created (discussion_topic_created)",
    "AssignableEvent with an Attempt object (submission_created)",
    "AssessmentEvent with an Attempt object (quiz_submitted)",
    "NavigationEvent with a generic Entity object (asset_accessed)",
    "SoftwareApplication actor on an event type that wants a Person (asset_accessed without a user)",
    # Also in the documented examples: spec properties placed on entity types that lack them.
    "Entity with dateToShow/dateToSubmit (assignment_override_*) or startedAtTime (enrollment_state_*)",
    "Group with isPartOf (group_created, group_membership_created)",
    "Attempt with body (submission_created)",
    "Document with body (syllabus_updated)",
)

# --- precomputed tables ---------------------------------------------------------------------------

_ENVELOPE_KEYS = frozenset(R.ENVELOPE_KEYS)
_ACTIONS = frozenset(R.ACTIONS)
_ROLES = frozenset(R.ROLES)
_STATUSES = frozenset(R.STATUSES)
_DATETIME_PROPS = frozenset(R.DATETIME_PROPERTIES.split())
_DURATION_PROPS = frozenset(R.DURATION_PROPERTIES.split())
_FREE_FORM = frozenset(R.FREE_FORM_PROPERTIES)
_ENTITY_REF_TYPES = {k: frozenset((v,)) for k, v in R.ENTITY_PROPERTY_TYPES.items()}
_EVENT_REQUIRED = R.EVENT_REQUIRED
_BASE_EVENT_PROPS = frozenset(R.EVENT_PROPERTIES.split())
# entity properties whose scalar values are checked too (all object and array values are walked)
_SPECIAL = _DATETIME_PROPS | _DURATION_PROPS | _FREE_FORM | frozenset(_ENTITY_REF_TYPES) | {"roles", "status"}
_NONE: frozenset[str] = frozenset()
_DOER = frozenset({"actor", "object"})
_TOLERATED_ACTORS = frozenset({"SoftwareApplication"})


def _ancestors(t: str) -> frozenset[str]:
    seen = {t}
    todo = list(R.SUPERTYPES[t])
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo.extend(R.SUPERTYPES[s])
    return frozenset(seen)


# type -> the type itself and all its supertypes
_IS_A: dict[str, frozenset[str]] = {t: _ancestors(t) for t in R.SUPERTYPES}


def _entity_props(t: str) -> frozenset[str]:
    if t == "TextPositionSelector":
        return frozenset(R.ENTITY_OWN_PROPERTIES[t].split())
    props: set[str] = set()
    for a in _IS_A[t]:
        props.update(R.ENTITY_OWN_PROPERTIES.get(a, "").split())
    return frozenset(props)


_STRICT_ENTITY_PROPS: dict[str, frozenset[str]] = {t: _entity_props(t) for t in R.SUPERTYPES}
# The property deviations of TOLERATED, each on that exact type only (not on its subtypes).
_TOLERANT_ENTITY_PROPS = dict(_STRICT_ENTITY_PROPS)
for _t, _extra in (
    ("Entity", "dateToShow dateToSubmit startedAtTime"),
    ("Group", "isPartOf"),
    ("Attempt", "body"),
    ("Document", "body"),
):
    _TOLERANT_ENTITY_PROPS[_t] = _STRICT_ENTITY_PROPS[_t] | frozenset(_extra.split())


@dataclass(frozen=True, slots=True)
class _EventRule:
    name: str
    actions: frozenset[str]
    deprecated_actions: frozenset[str]
    props: frozenset[str]
    # property -> (allowed types incl. subtypes, types accepted only exactly)
    refs: dict[str, tuple[frozenset[str], frozenset[str]]]
    no_target: bool
    constraints: dict[str, tuple[str, str]]


def _names(s: str | None) -> frozenset[str]:
    return frozenset((s or "").split())


def _event_rule(name: str, spec: dict, tolerant: bool) -> _EventRule:
    none: frozenset[str] = frozenset()
    refs = {k: (frozenset((v,)), none) for k, v in R.EVENT_PROPERTY_TYPES.items()}
    refs["actor"] = (_names(spec["actors"]), none)
    refs["object"] = (_names(spec["objects"]), none)
    refs["generated"] = (_names(spec.get("generated", "Entity")), none)
    refs["target"] = (_names(spec.get("targets", "Entity")), none)
    if "referrers" in spec:
        refs["referrer"] = (_names(spec["referrers"]), none)
    actions = _names(spec["actions"])
    person_actor = "Person" in refs["actor"][0] and "SoftwareApplication" not in refs["actor"][0]
    if tolerant:  # the event deviations of TOLERATED
        if name == "ThreadEvent":
            actions |= {"Created"}
        if name in ("AssignableEvent", "AssessmentEvent"):
            refs["object"] = (refs["object"][0], frozenset({"Attempt"}))
        if name == "NavigationEvent":
            refs["object"] = (refs["object"][0], frozenset({"Entity"}))
        if person_actor:
            refs["actor"] = (refs["actor"][0], _TOLERATED_ACTORS)
    return _EventRule(
        name=name,
        actions=actions,
        deprecated_actions=_names(spec.get("deprecated_actions")),
        props=_BASE_EVENT_PROPS | _names(spec.get("extra_properties")),
        refs=refs,
        no_target=bool(spec.get("no_target")),
        constraints=dict(spec.get("action_constraints", {})),
    )


@dataclass(frozen=True, slots=True)
class _Rules:
    tolerant: bool
    events: dict[str, _EventRule]
    entity_props: dict[str, frozenset[str]]


_STRICT = _Rules(False, {n: _event_rule(n, s, False) for n, s in R.EVENT_TYPES.items()}, _STRICT_ENTITY_PROPS)
_TOLERANT = _Rules(
    True, {n: _event_rule(n, s, True) for n, s in R.EVENT_TYPES.items()}, _TOLERANT_ENTITY_PROPS
)
_GENERIC_EVENT = _STRICT.events["Event"]

_TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_fromisoformat = datetime.fromisoformat
_UUID_RE = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_IRI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+")
_DURATION_RE = re.compile(
    r"P(?=\d|T\d)(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?=\d)(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?"
)
_TIME_FORM = "YYYY-MM-DDTHH:mm:ss.SSSZ"
_TOO_DEEP = "nested too deeply to check (no Caliper structure is this deep)"


# --- helpers ---------------------------------------------------------------------------------------


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: object) -> str:
    """repr() of a value for a message, cut short: inputs may hold megabytes."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _time_problem(value: object) -> str | None:
    """None when value is a real UTC date-time in the Caliper form, else what is wrong."""
    if not isinstance(value, str):
        return f"must be a date-time string ({_TIME_FORM}), got {_kind(value)}"
    if _TIME_RE.fullmatch(value) is None:
        return f"{_show(value)} is not an ISO 8601 UTC date-time of the form {_TIME_FORM}"
    try:
        _fromisoformat(value)  # the form is right; is it a real date and time?
    except ValueError:
        return f"{_show(value)} is not a real date and time"
    return None


def _check_context(value: object, path: str, out: list[Violation]) -> None:
    ctx = R.CONTEXT_V1P1
    if value == ctx:
        return
    if isinstance(value, list) and ctx in value:
        return
    if isinstance(value, dict) and ctx in value.values():
        return
    out.append(Violation(path, f"@context must be (or include) {ctx!r}, got {_show(value)}"))


def _nulls(value: object, path: str, out: list[Violation]) -> None:
    """Free-form JSON: only nulls are wrong."""
    if isinstance(value, dict):
        for k, v in value.items():
            if v is None:
                out.append(Violation(f"{path}.{k}", f"{k} is null: leave the property out instead"))
            elif isinstance(v, (dict, list)):
                _nulls(v, f"{path}.{k}", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if v is None:
                out.append(Violation(f"{path}[{i}]", "array item is null"))
            elif isinstance(v, (dict, list)):
                _nulls(v, f"{path}[{i}]", out)


def _type_ok(t: str, allowed: frozenset[str], exact: frozenset[str]) -> bool:
    if t in exact:
        return True
    anc = _IS_A.get(t)
    return anc is not None and not anc.isdisjoint(allowed)


def _check_ref(
    value: object,
    path: str,
    name: str,
    allowed: frozenset[str],
    exact: frozenset[str],
    out: list[Violation],
    rules: _Rules,
    owner: str,
) -> None:
    """An entity-valued property: an IRI string or an entity of an allowed type."""
    if isinstance(value, str):
        if _IRI_RE.fullmatch(value) is None:
            out.append(Violation(path, f"{name} must be an entity or an IRI, got the string {_show(value)}"))
        return
    if isinstance(value, dict):
        t = value.get("type")
        if isinstance(t, str) and t in _IS_A and not _type_ok(t, allowed, exact):
            want = " or ".join(sorted(allowed | exact))
            out.append(
                Violation(f"{path}.type", f"{name} of {owner} must be of type {want} (or a subtype), got {t}")
            )
        _check_entity(value, path, out, rules)
        return
    out.append(Violation(path, f"{name} must be an entity object or an IRI string, got {_kind(value)}"))


def _check_value(key: str, value: object, path: str, out: list[Violation], rules: _Rules, owner: str) -> None:
    """A property value of an entity (key known to be allowed for its type)."""
    if key in _DATETIME_PROPS:
        problem = _time_problem(value)
        if problem:
            out.append(Violation(path, f"{key} {problem}"))
    elif key in _DURATION_PROPS:
        if not isinstance(value, str) or _DURATION_RE.fullmatch(value) is None:
            out.append(
                Violation(path, f"{key} must be an ISO 8601 duration such as PT5M30S, got {_show(value)}")
            )
    elif key in _FREE_FORM:
        if key == "@context":
            _check_context(value, path, out)
        else:
            if key == "extensions" and not isinstance(value, dict):
                out.append(Violation(path, f"extensions must be an object, got {_kind(value)}"))
            _nulls(value, path, out)
    elif key in _ENTITY_REF_TYPES:
        allowed = _ENTITY_REF_TYPES[key]
        if isinstance(value, list):
            for i, item in enumerate(value):
                ipath = f"{path}[{i}]"
                if item is None:
                    out.append(Violation(ipath, f"{key} item is null"))
                else:
                    _check_ref(item, ipath, key, allowed, _NONE, out, rules, owner)
        else:
            _check_ref(value, path, key, allowed, _NONE, out, rules, owner)
    elif key == "roles":
        if not isinstance(value, list):
            out.append(Violation(path, f"roles must be an array of role names, got {_kind(value)}"))
            return
        for i, role in enumerate(value):
            if not isinstance(role, str) or role not in _ROLES:
                out.append(
                    Violation(f"{path}[{i}]", f"role {_show(role)} is not a Caliper 1.1 membership role")
                )
    elif key == "status" and owner == "Membership":
        if not isinstance(value, str) or value not in _STATUSES:
            out.append(
                Violation(
                    path, f"status {_show(value)} is not a Caliper 1.1 membership status (Active, Inactive)"
                )
            )
    elif isinstance(value, (dict, list)):
        _walk_any(value, path, out, rules)


def _walk_any(value: object, path: str, out: list[Violation], rules: _Rules) -> None:
    """Nested JSON of a non-entity property: entities inside are checked, nulls reported."""
    if isinstance(value, dict):
        if isinstance(value.get("type"), str):
            _check_entity(value, path, out, rules)
        else:
            _nulls(value, path, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if item is None:
                out.append(Violation(f"{path}[{i}]", "array item is null"))
            else:
                _walk_any(item, f"{path}[{i}]", out, rules)


def _check_entity(ent: dict, path: str, out: list[Violation], rules: _Rules) -> None:
    t = ent.get("type")
    props = rules.entity_props.get(t) if isinstance(t, str) else None
    if t is None:
        out.append(Violation(f"{path}.type", "type is required on an entity"))
    elif props is None:
        out.append(Violation(f"{path}.type", f"unknown Caliper 1.1 entity type {_show(t)}"))
    if t != "TextPositionSelector":
        eid = ent.get("id")
        if eid is None:
            if "id" not in ent:
                out.append(Violation(f"{path}.id", "id is required on an entity"))
        elif not isinstance(eid, str) or _IRI_RE.fullmatch(eid) is None:
            out.append(Violation(f"{path}.id", f"id must be an IRI, got {_show(eid)}"))
    owner = t if isinstance(t, str) else "entity"
    for key, value in ent.items():
        if value is None:
            out.append(Violation(f"{path}.{key}", f"{key} is null: leave the property out instead"))
        elif props is not None and key not in props:
            kpath = f"{path}.{key}"
            out.append(
                Violation(kpath, f"{key} is not a property of {owner}: custom data belongs in extensions")
            )
            _nulls(value, kpath, out)
        elif (
            (key in _SPECIAL or type(value) is dict or type(value) is list) and key != "id" and key != "type"
        ):
            # plain scalar properties (name, description, maxScore...) need no further look
            _check_value(key, value, f"{path}.{key}", out, rules, owner)


def _check_event(ev: dict, path: str, out: list[Violation], rules: _Rules) -> None:
    for key in _EVENT_REQUIRED:
        if key not in ev:
            out.append(Violation(f"{path}.{key}", f"{key} is required on an event"))
    t = ev.get("type")
    rule = rules.events.get(t) if isinstance(t, str) else None
    if rule is None:
        if t is not None:
            out.append(Violation(f"{path}.type", f"unknown Caliper 1.1 event type {_show(t)}"))
        rule = _GENERIC_EVENT
    name = rule.name
    action = ev.get("action")
    if not isinstance(action, str):
        action = None
    constraint = rule.constraints.get(action) if action else None
    doing = f"{name} {action}" if action else name
    for key, value in ev.items():
        if value is None:
            out.append(Violation(f"{path}.{key}", f"{key} is null: leave the property out instead"))
            continue
        kpath = f"{path}.{key}"
        if key not in rule.props:
            out.append(
                Violation(kpath, f"{key} is not a property of {name}: custom data belongs in extensions")
            )
            _nulls(value, kpath, out)
        elif key == "type":
            continue
        elif key == "id":
            if not isinstance(value, str) or _UUID_RE.fullmatch(value) is None:
                out.append(Violation(kpath, f"id must be 'urn:uuid:' followed by a UUID, got {_show(value)}"))
        elif key == "action":
            if action is None:
                out.append(Violation(kpath, f"action must be a string, got {_kind(value)}"))
            elif action in rule.actions or action in rule.deprecated_actions:
                continue
            elif action in _ACTIONS:
                allowed = ", ".join(sorted(rule.actions))
                out.append(
                    Violation(kpath, f"action {_show(action)} is not allowed for {name} (allowed: {allowed})")
                )
            else:
                out.append(Violation(kpath, f"action {_show(action)} is not a Caliper 1.1 action"))
        elif key == "eventTime":
            problem = _time_problem(value)
            if problem:
                out.append(Violation(kpath, f"eventTime {problem}"))
        elif key in rule.refs:
            allowed, exact = rule.refs[key]
            if key == "target" and rule.no_target:
                out.append(Violation(kpath, f"target is not applicable to {name}"))
            elif constraint is not None and (key == "actor" or key == "object"):
                # SessionEvent: who may log in, log out or time out depends on the action.
                want = constraint[0] if key == "actor" else constraint[1]
                allowed = frozenset((want,))
                exact = _TOLERATED_ACTORS if key == "actor" and rules.tolerant and want == "Person" else _NONE
            _check_ref(value, kpath, key, allowed, exact, out, rules, doing if key in _DOER else name)
        else:
            _check_value(key, value, kpath, out, rules, name)


# --- public API ------------------------------------------------------------------------------------


def validate_event(event: object, *, tolerant: bool = False, path: str = "event") -> list[Violation]:
    """Violations of one Caliper event (as it would appear in an envelope's data)."""
    out: list[Violation] = []
    if not isinstance(event, dict):
        return [Violation(path, f"an event must be a JSON object, got {_kind(event)}")]
    try:
        _check_event(event, path, out, _TOLERANT if tolerant else _STRICT)
    except RecursionError:
        out.append(Violation(path, _TOO_DEEP))
    return out


def validate_entity(entity: object, *, tolerant: bool = False, path: str = "entity") -> list[Violation]:
    """Violations of one Caliper entity describe."""
    out: list[Violation] = []
    if not isinstance(entity, dict):
        return [Violation(path, f"an entity must be a JSON object, got {_kind(entity)}")]
    try:
        _check_entity(entity, path, out, _TOLERANT if tolerant else _STRICT)
    except RecursionError:
        out.append(Violation(path, _TOO_DEEP))
    return out


def is_event(item: dict) -> bool:
    """Envelope data may mix events and entities: events are the types named `Event`/`...Event`."""
    t = item.get("type")
    return isinstance(t, str) and t.endswith("Event")


def validate_envelope(envelope: object, *, tolerant: bool = False) -> list[Violation]:
    """[] when valid. tolerant=True accepts exactly Instructure's documented deviations
    (MAPPING-RULES.md decision 9, listed in `TOLERATED`). Cheap: called per event by the worker
    when validation is on."""
    if not isinstance(envelope, dict):
        return [Violation("envelope", f"an envelope must be a JSON object, got {_kind(envelope)}")]
    rules = _TOLERANT if tolerant else _STRICT
    if _ENVELOPE_KEYS.isdisjoint(envelope) and "type" in envelope:
        # One clear message instead of one per event property.
        what = "event" if is_event(envelope) else "entity"
        return [
            Violation(
                "envelope", f"a bare Caliper {what}, not an envelope (sensor, sendTime, dataVersion, data)"
            )
        ]
    out: list[Violation] = []
    for key, value in envelope.items():
        if key not in _ENVELOPE_KEYS:
            out.append(
                Violation(
                    key, f"{key} is not an envelope property (only sensor, sendTime, dataVersion, data)"
                )
            )
        elif value is None:
            out.append(Violation(key, f"{key} is null"))
    for key in R.ENVELOPE_KEYS:
        if key not in envelope:
            out.append(Violation(key, f"{key} is required in the envelope"))
    sensor = envelope.get("sensor")
    if sensor is not None and (not isinstance(sensor, str) or _IRI_RE.fullmatch(sensor) is None):
        out.append(Violation("sensor", f"sensor must be an IRI string, got {_show(sensor)}"))
    send_time = envelope.get("sendTime")
    if send_time is not None:
        problem = _time_problem(send_time)
        if problem:
            out.append(Violation("sendTime", f"sendTime {problem}"))
    version = envelope.get("dataVersion")
    if version is not None and version != R.DATA_VERSION_V1P1:
        out.append(
            Violation("dataVersion", f"dataVersion must be {R.DATA_VERSION_V1P1!r}, got {_show(version)}")
        )
    data = envelope.get("data")
    if data is None:
        return out
    if not isinstance(data, list) or not data:
        out.append(
            Violation("data", f"data must be a non-empty array, got {_kind(data) if data != [] else '[]'}")
        )
        return out
    for i, item in enumerate(data):
        path = f"data[{i}]"
        if not isinstance(item, dict):
            out.append(Violation(path, f"data item must be an event or entity object, got {_kind(item)}"))
            continue
        try:
            if is_event(item):
                _check_event(item, path, out, rules)
            else:
                _check_entity(item, path, out, rules)
        except RecursionError:
            out.append(Violation(path, _TOO_DEEP))
    return out
