"""The one exception type an input that cannot be mapped raises.

Errors are values: the worker turns a MappingError into a dead letter (or an unmapped record),
the `transform` command into one stderr line; neither ever crashes on bad input.
"""

from __future__ import annotations

STAGES = ("decode", "unwrap", "unmapped", "map")
MAX_REASON = 300  # characters


class MappingError(Exception):
    """An input that cannot become a Caliper envelope.

    stage:  where it failed: "decode" (not JSON / not an object), "unwrap" (no wrapper or no
            event name), "unmapped" (no mapping registered for the event name), "map" (the
            mapping function rejected a field).
    reason: a human-readable sentence that names the offending field.
    field:  the dotted path of that field, when there is one (e.g. "metadata.event_time").
    """

    def __init__(self, stage: str, reason: str, field: str | None = None) -> None:
        if len(reason) > MAX_REASON:  # a reason quoting hostile input stays a one-liner
            reason = reason[: MAX_REASON - 3] + "..."
        super().__init__(reason)
        self.stage = stage
        self.reason = reason
        self.field = field

    def __reduce__(self):  # keep stage/field across pickling (multiprocessing, hypothesis)
        return (type(self), (self.stage, self.reason, self.field))


class UnmappedEventError(MappingError):
    """A well-formed Canvas event whose name has no registered mapping (not an error of the input)."""

    def __init__(self, event_name: str) -> None:
        super().__init__("unmapped", f"no mapping registered for event_name {event_name!r}", "event_name")
        self.event_name = event_name

    def __reduce__(self):
        return (type(self), (self.event_name,))
