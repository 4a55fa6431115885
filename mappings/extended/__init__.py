"""The 50 Canvas live events Instructure's Caliper feed does not map (`processor.mappings =
"extended"`), one module per family. Each mapping is valid Caliper 1.1 in strict validation,
with or without `--strict`, and says in `why` where its type and action come from."""

from __future__ import annotations

from collections.abc import Callable

from mappings.registry import mapping


def extended(*event_names: str, caliper_type: str, action: str, object_type: str, why: str, **kw) -> Callable:
    """`@mapping` of the extended set: the object type and the reason are required."""
    return mapping(
        *event_names,
        caliper_type=caliper_type,
        action=action,
        object_type=object_type,
        mode="extended",
        why=why,
        **kw,
    )
