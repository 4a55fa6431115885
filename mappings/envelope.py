"""The Caliper envelope around one event, and the event's deterministic id.

The id is a UUID in version-4 layout made from SHA-256 of the input bytes: a redelivered input
gets the same id, so consumers can drop duplicates (Instructure's own ids are random v4 UUIDs,
which is why the layout, not the randomness, is kept).
"""

from __future__ import annotations

from hashlib import sha256

from mappings.builders.ids import CONTEXT
from mappings.timestamps import utc_now_ms

DATA_VERSION = CONTEXT
# RFC 4122 variant: the top two bits of byte 8 are 10, so its first hex digit is one of 8 9 a b.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def deterministic_id(raw: bytes) -> str:
    """`urn:uuid:` + sha256(raw)[:16] with version nibble 4 and the RFC 4122 variant bits."""
    h = sha256(raw).hexdigest()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def envelope(sensor: str, event: dict) -> dict:
    """One event per envelope, as Instructure sends them ("we issue one message per event")."""
    return {"sensor": sensor, "sendTime": utc_now_ms(), "dataVersion": DATA_VERSION, "data": [event]}
