"""Delivery guarantees, one strategy per module, behind one interface (`base.Delivery`).

The per-event path (`processor.pipeline`) is the same for every guarantee; a strategy decides how an
output is produced, how inputs are tracked and when their offsets are committed:

- `at_least_once`: offsets committed by the consumer once every output of an input is acknowledged
  (per-record delivery reports).
- `exactly_once`: Kafka transactions (KIP-447): outputs and the inputs' offsets commit together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processor.delivery.base import Delivery, Services

GUARANTEES = ("at-least-once", "exactly-once")


def build(guarantee: str, services: Services) -> Delivery:
    """The strategy for `processor.guarantee` (imported lazily: each pulls in only what it needs)."""
    if guarantee == "exactly-once":
        from processor.delivery.exactly_once import ExactlyOnce

        return ExactlyOnce(services)
    if guarantee == "at-least-once":
        from processor.delivery.at_least_once import AtLeastOnce

        return AtLeastOnce(services)
    raise ValueError(f"unknown guarantee {guarantee!r} (known: {', '.join(GUARANTEES)})")
