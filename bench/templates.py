"""Pre-rendered Canvas event templates: one orjson rendering per sample, ids turned into slots.

Rendering an event is then a single `bytes % tuple` (C speed) instead of building and dumping a
dict per event, which is what lets the generator load half a million events in seconds. A slot
replaces every occurrence of one sample value as a whole JSON string (`"2107..."`), so a user id
that appears in metadata and body changes consistently in both.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import orjson

# Slot kinds, in the order they claim a sample value (the first claim wins on equal values).
REQUEST, TIME, SESSION, USER, LOGIN, SIS, COURSE, IP, AGENT, URL, REFERRER = (
    "request",
    "time",
    "session",
    "user",
    "login",
    "sis",
    "course",
    "ip",
    "agent",
    "url",
    "referrer",
)
METADATA_SLOTS = (
    (REQUEST, "request_id"),
    (TIME, "event_time"),
    (SESSION, "session_id"),
    (USER, "user_id"),
    (LOGIN, "user_login"),
    (SIS, "user_sis_id"),
    (IP, "client_ip"),
    (AGENT, "user_agent"),
    (URL, "url"),
    (REFERRER, "referrer"),
)
OBJECT = "object"  # a body id that is neither the user nor the course: a fresh id per event
SLOT_PREFIX = "\x00slot:"


@dataclass(frozen=True, slots=True)
class Template:
    """One Canvas event, rendered once, with `%s` where per-event values go."""

    event_name: str
    fmt: bytes  # orjson bytes with '%' escaped and each slot value replaced by b"%s"
    slots: tuple[str, ...]  # slot kind of each %s, in order
    base_size: int  # size with every slot empty, to size the padded fields

    def render(self, values: dict[str, bytes]) -> bytes:
        return self.fmt % tuple(values[s] for s in self.slots)


def load_samples(path: Path | None = None) -> list[dict]:
    """The project's bundled samples (mappings/samples/canvas_events.jsonl), one event per line."""
    if path is None:
        text = resources.files("mappings").joinpath("samples", "canvas_events.jsonl").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


def _wrapper(sample: dict) -> tuple[dict, dict]:
    meta = sample.get("metadata", sample.get("attributes"))
    body = sample.get("body", sample.get("data"))
    if not isinstance(meta, dict) or not isinstance(body, dict):
        raise ValueError("a sample must be a Canvas live event {'metadata': {...}, 'body': {...}}")
    return meta, body


def build_template(sample: dict) -> Template:
    """Turn one sample event into a template; adds a request_id when the sample has none so that
    every generated event is distinct (the Caliper id is derived from the input bytes)."""
    sample = copy.deepcopy(sample)
    meta, body = _wrapper(sample)
    name = meta.get("event_name")
    if not isinstance(name, str):
        raise ValueError("a sample needs metadata.event_name")
    meta.setdefault("request_id", "00000000-0000-4000-8000-000000000000")
    claims: dict[str, str] = {}  # sample value -> slot kind
    for kind, key in METADATA_SLOTS:
        value = meta.get(key)
        if isinstance(value, str) and value and value not in claims:
            claims[value] = kind
    if meta.get("context_type", "Course") == "Course":
        value = meta.get("context_id")
        if isinstance(value, str) and value and value not in claims:
            claims[value] = COURSE
    for key, value in body.items():
        if key.endswith("id") and isinstance(value, str) and value.isdigit() and value not in claims:
            claims[value] = f"{OBJECT}:{key}"
    # Mark each claimed value with a unique token, then split the rendering on the tokens.
    markers = {value: f"{SLOT_PREFIX}{i}\x00" for i, value in enumerate(claims)}

    def mark(node: object) -> object:
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, list):
            return [mark(v) for v in node]
        if isinstance(node, str) and node in markers:
            return markers[node]
        return node

    text = orjson.dumps(mark(sample)).decode("utf-8").replace("%", "%%")
    slots: list[str] = []
    kinds = {markers[value]: kind for value, kind in claims.items()}
    # orjson escapes the NUL of the marker as \u0000: search for the escaped form.
    escaped = {marker.replace("\x00", "\\u0000"): kind for marker, kind in kinds.items()}
    out: list[str] = []
    rest = text
    while True:
        hits = [(rest.find(m), m) for m in escaped if m in rest]
        if not hits:
            out.append(rest)
            break
        pos, marker = min(hits)
        out.append(rest[:pos])
        out.append("%s")
        slots.append(escaped[marker])
        rest = rest[pos + len(marker) :]
    fmt = "".join(out).encode("utf-8")
    base = len(fmt % tuple(b"" for _ in slots))
    return Template(event_name=name, fmt=fmt, slots=tuple(slots), base_size=base)


def build_templates(samples: Iterable[dict]) -> dict[str, Template]:
    """One template per event name (the first sample of a name wins)."""
    templates: dict[str, Template] = {}
    for sample in samples:
        template = build_template(sample)
        templates.setdefault(template.event_name, template)
    return templates
