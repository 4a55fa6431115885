"""Output record formats: JSON (orjson, the default) or Avro (Confluent wire format), per topic.

`serializer_for(cfg)` gives the worker one object with `prepare(topics)` and
`serialize(topic, envelope) -> bytes`: topics.format for every output topic, [topics.formats]
overriding it per profile. Topics of [topics.events] overrides take topics.format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from mappings.registry import PROFILES
from processor.config import Config


class JsonSerializer:
    """One JSON object per record, as `caliper-processor transform` prints it."""

    def prepare(self, topics: Iterable[str]) -> None:
        pass

    def serialize(self, topic: str, envelope: dict) -> bytes:
        return orjson.dumps(envelope)


class PerTopicSerializer:
    """JSON on some topics and Avro on others (a dict lookup per record)."""

    def __init__(self, by_topic: dict[str, Any], default: Any) -> None:
        self.by_topic = by_topic
        self.default = default

    def prepare(self, topics: Iterable[str]) -> None:
        groups: dict[int, tuple[Any, list[str]]] = {}
        for t in topics:
            s = self.by_topic.get(t, self.default)
            groups.setdefault(id(s), (s, []))[1].append(t)
        for s, ts in groups.values():
            s.prepare(ts)

    def serialize(self, topic: str, envelope: dict) -> bytes:
        return self.by_topic.get(topic, self.default).serialize(topic, envelope)


def serializer_for(
    cfg: Config,
    *,
    on_wait: Callable[[str | None], None] | None = None,
    stopping: Callable[[], bool] | None = None,
) -> Any:
    """The serializer the configuration asks for (an Avro one only when some topic is Avro)."""
    formats = {cfg.output_topic(p): cfg.output_format(p) for p in PROFILES}
    default = cfg.topics["format"]
    if default == "json" and all(f == "json" for f in formats.values()):
        return JsonSerializer()
    from processor.avro.serializer import AvroSerializer

    avro = AvroSerializer(cfg.sections["schema_registry"], on_wait=on_wait, stopping=stopping)
    if default == "avro" and all(f == "avro" for f in formats.values()):
        return avro
    json_ = JsonSerializer()
    pick = {"json": json_, "avro": avro}
    return PerTopicSerializer({t: pick[f] for t, f in formats.items()}, pick[default])


def avro_topics(cfg: Config) -> list[str]:
    """The output topics that carry Avro records."""
    topics = [cfg.output_topic(p) for p in PROFILES if cfg.output_format(p) == "avro"]
    if cfg.topics["format"] == "avro":
        topics += list(cfg.event_topics.values())
    return list(dict.fromkeys(topics))
