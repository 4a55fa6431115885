"""Where an envelope goes (topic) and with which key (ordering).

The topic is per Caliper metric profile (from the template, or a per-profile override), with a
per-event-name override on top. The key is the actor's id when the actor is a Person, else the
course/group id, else no key: Kafka keeps order per key within a partition, so one learner's
events (or one course's, for events without a person) stay in order downstream.
"""

from __future__ import annotations

from typing import Any

from processor.config import PROFILES, Config


class Router:
    """Precomputed topic lookup; `topic()` and `key()` run once per event, so they stay cheap."""

    __slots__ = ("_by_event", "_by_profile", "_template")

    def __init__(self, config: Config) -> None:
        self._by_profile = {p: config.output_topic(p) for p in PROFILES}
        self._by_event = dict(config.event_topics)
        self._template = config.topics["output_template"]

    def topic(self, profile: str, event_name: str) -> str:
        topic = self._by_event.get(event_name)
        if topic is not None:
            return topic
        topic = self._by_profile.get(profile)
        if topic is None:  # a plug-in mapping with a profile of its own
            topic = self._by_profile[profile] = self._template.format(profile=profile)
        return topic

    @staticmethod
    def key(event: dict[str, Any]) -> bytes | None:
        return routing_key(event)


def _id_of(value: Any) -> str | None:
    if isinstance(value, dict):
        ident = value.get("id")
        return ident if isinstance(ident, str) and ident else None
    if isinstance(value, str) and value:
        return value
    return None


def routing_key(event: dict[str, Any]) -> bytes | None:
    """Person actor id, else group (course) id, else None."""
    actor = event.get("actor")
    if isinstance(actor, dict) and actor.get("type") == "Person":
        ident = _id_of(actor)
        if ident:
            return ident.encode()
    ident = _id_of(event.get("group"))
    return ident.encode() if ident else None
