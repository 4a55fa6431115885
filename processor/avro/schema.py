"""The Avro schema of the Caliper envelopes, built from one field table so encoder and schema agree.

JSON-LD -> Avro (docs/avro.md has the whole story):
- Every Caliper property a mapping of ours emits is a typed field, optional (null default), so an
  absent property stays absent and new fields can be added later as a compatible evolution.
- Entities (actor, object, generated, target, group, membership, session, edApp, federatedSession and
  the entities inside them) share one generic record with the union of the Caliper 1.1 entity
  properties. Nesting is bounded (Entity -> Entity2 -> Entity3) because Kafka Connect, BigQuery and
  Parquet cannot take recursive schemas; deeper entities are kept in `other`.
- DateTime properties are `timestamp-millis` (Caliper's own precision), numbers `long` or `double`.
- `extensions` is the JSON text of the extensions object, and `other` the JSON text of every property
  the schema does not type or whose value does not fit its typed field: nothing is ever dropped, and a
  decoder merges `other` back (processor.avro.codec).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAMESPACE = "org.caliperprocessor.caliper.v1p1"
ENVELOPE_NAME = f"{NAMESPACE}.Envelope"
SCHEMA_FILE = "caliper-envelope.avsc"

# Field kinds (the encoder and decoder switch on these).
STR, NUM, BOOL, TIME, STRS, ENT, ENTS, JSON = "str", "num", "bool", "time", "strs", "ent", "ents", "json"

# (JSON-LD name, kind, doc) of the generic entity record, in schema order. Nested kinds (ENT, ENTS)
# refer to the next depth's record; the deepest one has none.
ENTITY_FIELDS: list[tuple[str, str, str]] = [
    ("id", STR, "IRI of the entity"),
    ("type", STR, "Caliper type, e.g. Person, CourseOffering, AssignableDigitalResource"),
    ("name", STR, ""),
    ("description", STR, ""),
    ("dateCreated", TIME, ""),
    ("dateModified", TIME, ""),
    ("datePublished", TIME, "DigitalResource"),
    ("mediaType", STR, "DigitalResource"),
    ("version", STR, "DigitalResource, SoftwareApplication"),
    ("keywords", STRS, "DigitalResource"),
    ("creators", ENTS, "DigitalResource"),
    ("isPartOf", ENT, "DigitalResource"),
    ("dateToActivate", TIME, "AssignableDigitalResource"),
    ("dateToShow", TIME, "AssignableDigitalResource"),
    ("dateToStartOn", TIME, "AssignableDigitalResource"),
    ("dateToSubmit", TIME, "AssignableDigitalResource"),
    ("maxAttempts", NUM, "AssignableDigitalResource"),
    ("maxSubmissions", NUM, "AssignableDigitalResource"),
    ("maxScore", NUM, "AssignableDigitalResource, Score"),
    ("assignee", ENT, "Attempt"),
    ("assignable", ENT, "Attempt"),
    ("count", NUM, "Attempt"),
    ("startedAtTime", TIME, "Attempt, Session"),
    ("endedAtTime", TIME, "Attempt, Session"),
    ("duration", STR, "Attempt, Session, MediaObject (ISO 8601 duration)"),
    ("attempt", ENT, "Score, Result"),
    ("scoreGiven", NUM, "Score"),
    ("scoredBy", STR, "Score (IRI)"),
    ("comment", STR, "Score, Result"),
    ("member", ENT, "Membership"),
    ("organization", ENT, "Membership"),
    ("roles", STRS, "Membership"),
    ("status", STR, "Membership"),
    ("subOrganizationOf", ENT, "Organization, CourseSection"),
    ("academicSession", STR, "CourseOffering"),
    ("courseNumber", STR, "CourseOffering"),
    ("category", STR, "CourseSection, Group"),
    ("body", STR, "Message"),
    ("replyTo", ENT, "Message"),
    ("attachments", ENTS, "Message"),
    ("user", ENT, "Session"),
    ("currentTime", STR, "MediaLocation"),
    ("index", NUM, "Frame"),
    ("isTimeDependent", BOOL, "AssessmentItem"),
    ("extensions", JSON, "JSON text of the extensions object (e.g. com.instructure.canvas)"),
]

EVENT_FIELDS: list[tuple[str, str, str]] = [
    ("@context", STR, "JSON-LD context IRI"),
    ("id", STR, "urn:uuid: of the event, derived from the input bytes"),
    ("type", STR, "Caliper event type"),
    ("action", STR, ""),
    ("actor", ENT, ""),
    ("object", ENT, ""),
    ("target", ENT, ""),
    ("generated", ENT, ""),
    ("eventTime", TIME, ""),
    ("referrer", STR, "IRI"),
    ("edApp", ENT, ""),
    ("group", ENT, ""),
    ("membership", ENT, ""),
    ("session", ENT, ""),
    ("federatedSession", ENT, ""),
    ("extensions", JSON, "JSON text of the extensions object"),
]

ENVELOPE_FIELDS: list[tuple[str, str, str]] = [
    ("sensor", STR, "IRI of the sensor (the Canvas instance)"),
    ("sendTime", TIME, ""),
    ("dataVersion", STR, "Caliper context IRI"),
    ("data", ENTS, "the events (one per envelope)"),
]

OTHER_DOC = (
    "JSON text of the properties this schema does not type, or whose value does not fit the typed "
    "field; merged back into the object on decoding (null when there are none)"
)
ENTITY_DEPTH = 3


def avro_name(json_name: str) -> str:
    """Avro names are [A-Za-z_][A-Za-z0-9_]*: `@context` becomes `context`."""
    return json_name.lstrip("@")


def record_names() -> list[str]:
    return ["Envelope", "Event", *(entity_record(d) for d in range(1, ENTITY_DEPTH + 1))]


def entity_record(depth: int) -> str:
    return "Entity" if depth == 1 else f"Entity{depth}"


def fields_of(record: str) -> list[tuple[str, str, str]]:
    """The field table of one record; the deepest entity has no nested entity fields."""
    if record == "Envelope":
        return ENVELOPE_FIELDS
    if record == "Event":
        return EVENT_FIELDS
    if record == entity_record(ENTITY_DEPTH):
        return [f for f in ENTITY_FIELDS if f[1] not in (ENT, ENTS)]
    return ENTITY_FIELDS


def child_of(record: str) -> str | None:
    """The record an ENT/ENTS field of `record` holds."""
    if record == "Envelope":
        return "Event"
    if record == "Event":
        return entity_record(1)
    depth = 1 if record == "Entity" else int(record[len("Entity") :])
    return entity_record(depth + 1) if depth < ENTITY_DEPTH else None


def _avro_type(kind: str, child: Any) -> Any:
    return {
        STR: "string",
        NUM: ["long", "double"],
        BOOL: "boolean",
        TIME: {"type": "long", "logicalType": "timestamp-millis"},
        STRS: {"type": "array", "items": "string"},
        ENT: child,
        ENTS: {"type": "array", "items": child},
        JSON: "string",
    }[kind]


def build_schema() -> dict[str, Any]:
    """The schema as a dict: every field a union with null first and a null default."""
    defined: set[str] = set()

    def record(name: str) -> Any:
        if name in defined:
            return name
        defined.add(name)
        fields = []
        child_name = child_of(name)
        for json_name, kind, doc in fields_of(name):
            child = record(child_name) if kind in (ENT, ENTS) and child_name else None
            t = _avro_type(kind, child)
            branches = t if isinstance(t, list) else [t]
            field: dict[str, Any] = {
                "name": avro_name(json_name),
                "type": ["null", *branches],
                "default": None,
            }
            if doc:
                field["doc"] = doc
            fields.append(field)
        fields.append({"name": "other", "type": ["null", "string"], "default": None, "doc": OTHER_DOC})
        docs = {
            "Envelope": "A Caliper 1.1 envelope as caliper-processor emits it (one event per envelope)",
            "Event": "A Caliper 1.1 event",
        }
        rec: dict[str, Any] = {"type": "record", "name": name, "fields": fields}
        if name == "Envelope":
            rec["namespace"] = NAMESPACE
        rec["doc"] = docs.get(name, f"A Caliper 1.1 entity (nesting level {name[len('Entity') :] or 1})")
        return rec

    return record("Envelope")


def load_schema() -> dict[str, Any]:
    """The schema shipped in the package (caliper-envelope.avsc), as a dict."""
    return json.loads((resources.files("processor.avro") / SCHEMA_FILE).read_text(encoding="utf-8"))


def schema_text() -> str:
    """The shipped schema as compact JSON, the text registered with the Schema Registry."""
    return json.dumps(load_schema(), separators=(",", ":"))


if __name__ == "__main__":  # regenerate the shipped file: python -m processor.avro.schema > ...avsc
    print(json.dumps(build_schema(), indent=2))
