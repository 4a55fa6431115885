"""Extended mode: body fields that no mapping names go into the object's extensions.

Canvas adds event fields without notice (schema drift). Instructure's feed drops
whatever its converter does not know; in extended mode a field survives instead, under its
Canvas name in `object.extensions["com.instructure.canvas"]`. A field counts as named when the
mapping read it (tracked by `ReadTracking`) or lists it in `ignores` (documented fields that
Instructure's form drops on purpose, so the 32 documented outputs stay exactly as they are).
"""

from __future__ import annotations

from mappings.builders.ids import CANVAS
from mappings.builders.values import clean_json
from mappings.registry import MappingSpec


class ReadTracking(dict):
    """The event body, remembering which keys the mapping looked at (get, [], in)."""

    __slots__ = ("read",)

    def __init__(self, body: dict) -> None:
        super().__init__(body)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)


def carry_unnamed(event: dict, body: ReadTracking, spec: MappingSpec) -> None:
    """Copy each unnamed, non-null body field into the object's Canvas extensions (an existing
    extension of the same name wins: the mapping's value is the documented one)."""
    read = body.read
    ignores = spec.ignores
    extras = {}
    for key, value in dict.items(body):
        if key in read or key in ignores or value is None:
            continue
        cleaned = clean_json(value, "body." + key)
        if cleaned is not None:
            extras[key] = cleaned
    if not extras:
        return
    obj = event.get("object")
    if type(obj) is not dict:
        return
    ext = obj.setdefault("extensions", {}).setdefault(CANVAS, {})
    for key, value in extras.items():
        ext.setdefault(key, value)
