"""Canvas values that are not plain scalars (arrays, nested objects) made fit for extensions.

Caliper extensions are free-form JSON, but a null anywhere inside them breaks the 1.1 rules
(decision 8: a null is a missing value), and a number JSON cannot hold makes the envelope
unwritable. Nested Canvas values (rubric criteria, proficiency ratings, course progress) are
copied with their nulls left out and every scalar checked.
"""

from __future__ import annotations

from mappings.errors import MappingError
from mappings.model import check_scalar

_MAX_DEPTH = 32  # Canvas nests two or three levels; deeper input is junk, not data


def clean_json(value: object, field: str, depth: int = 0) -> object | None:
    """`value` without nulls (None when nothing is left), scalars checked; MappingError when junk."""
    if value is None:
        return None
    if depth > _MAX_DEPTH:
        top = field.split("[", 1)[0].split(".", 2)
        top = ".".join(top[:2])  # e.g. body.extra: the path below it is as long as the nesting
        raise MappingError("map", f"{top}: nested deeper than {_MAX_DEPTH} levels", top)
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():  # type: ignore[union-attr]
            cleaned = clean_json(item, f"{field}.{key}", depth + 1)
            if cleaned is not None:
                out[key] = cleaned
        return out or None
    if kind is list:
        items = [clean_json(item, f"{field}[{i}]", depth + 1) for i, item in enumerate(value)]  # type: ignore[arg-type]
        items = [item for item in items if item is not None]
        return items or None
    if kind is not str and kind is not bool:
        check_scalar(value, field)
    return value


def clean_all(values: dict, where: str) -> dict:
    """`values` with each entry cleaned as by `clean_json`, empty ones left out."""
    out = {}
    for key, value in values.items():
        cleaned = clean_json(value, f"{where}.{key}")
        if cleaned is not None:
            out[key] = cleaned
    return out
