"""Bytes in, Caliper envelope out: decode, unwrap, look up, map, wrap. Pure; no Kafka.

`Transformer.transform` is the one call the worker and the `transform` command make per input.
It raises MappingError (stage decode, unwrap, map) or UnmappedEventError and nothing else, for
any bytes at all: a mapping that trips over input it did not foresee becomes a `map` error
naming the event, never a crashed worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from mappings.builders.ids import app_url
from mappings.carry import ReadTracking, carry_unnamed
from mappings.decode import loads
from mappings.envelope import deterministic_id, envelope
from mappings.errors import MappingError, UnmappedEventError
from mappings.model import unwrap
from mappings.privacy import Policy
from mappings.registry import DEFAULT_MODE, PROFILE_OF_TYPE, Registry, check_mode, default_registry
from mappings.strict import strict_form


@dataclass(slots=True)
class Output:
    envelope: dict  # {sensor, sendTime, dataVersion, data: [event]}
    profile: str  # the metric profile, i.e. the output topic's {profile}
    event_name: str  # the Canvas event name
    event: dict  # envelope["data"][0]


class Transformer:
    """Maps Canvas live events with one registry; `strict=True` emits the 1.1-conformant forms.

    `mappings="extended"` maps the 50 events Instructure does not (registry of that mode) and
    carries body fields no mapping names into the object's extensions (mappings.carry).
    """

    __slots__ = ("_extended", "_lookup", "mappings", "policy", "registry", "strict")

    def __init__(
        self,
        *,
        strict: bool = False,
        registry: Registry | None = None,
        mappings: str = DEFAULT_MODE,
        policy: Policy | None = None,
    ) -> None:
        self.strict = strict
        # the privacy policy (mappings.privacy), run on each event's fields before its mapping;
        # None: Instructure's documented output exactly, credentials in URLs included
        self.policy = policy
        self.mappings = check_mode(mappings)
        self._extended = mappings == "extended"
        self.registry = registry if registry is not None else default_registry(mappings)
        self._lookup = self.registry.lookup

    def transform(self, raw: bytes) -> Output:
        """One input record's bytes -> Output. The event id is derived from these exact bytes."""
        if raw.__class__ is not bytes:  # bytearray/memoryview/str from other sources; None: a tombstone
            if raw is None:
                raise MappingError("decode", "input has no value (a tombstone)", None)
            try:
                if isinstance(raw, str):
                    raw = raw.encode()
                elif isinstance(raw, (bytearray, memoryview)):
                    raw = bytes(raw)
                else:
                    raise TypeError
            except (TypeError, UnicodeEncodeError):
                raise MappingError("decode", f"input is {type(raw).__name__}, not JSON bytes", None) from None
        return self._map(loads(raw), raw)

    def transform_obj(self, obj: object) -> Output:
        """An already-decoded event; its id comes from the canonical (sorted-keys) JSON of `obj`."""
        try:
            raw = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except (orjson.JSONEncodeError, TypeError) as exc:
            raise MappingError("decode", f"input is not JSON-serialisable: {exc}", None) from None
        return self._map(obj, raw)

    def _map(self, obj: object, raw: bytes) -> Output:
        ev = unwrap(obj)
        spec = self._lookup(ev.name)
        if spec is None:
            raise UnmappedEventError(ev.name)
        try:
            policy = self.policy
            if policy is not None:
                policy(ev.meta, ev.body)
                if self._extended:
                    policy.extra_user_fields(ev.body)
            if self._extended:
                ev.body = body = ReadTracking(ev.body)
            event = spec.func(ev, spec)
            if self.strict:
                event = strict_form(event, spec)
            if self._extended:
                carry_unnamed(event, body, spec)
            app = event.get("edApp")
            sensor = app["id"] if app.__class__ is dict else app_url(ev)
        except MappingError:
            raise
        except Exception as exc:  # a mapping bug or unforeseen input: a dead letter, not a crash
            raise MappingError("map", f"{ev.name}: {type(exc).__name__}: {exc}", None) from exc
        event["id"] = deterministic_id(raw)
        # The profile follows the type actually emitted (a strict form may be a plain Event).
        profile = spec.profile if spec.profile_fixed else PROFILE_OF_TYPE.get(event.get("type"), "basic")
        return Output(envelope(sensor, event), profile, ev.name, event)
