"""The bundled sample events: one per mapped event name, all of them mapping cleanly."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

from mappings.registry import builtin_registry
from mappings.transform import Transformer


def _lines() -> list[bytes]:
    text = (resources.files("mappings") / "samples" / "canvas_events.jsonl").read_bytes()
    return [line for line in text.splitlines() if line.strip()]


def test_one_sample_per_mapped_event_with_asset_accessed_variants() -> None:
    names = Counter(json.loads(line)["metadata"]["event_name"] for line in _lines())
    assert set(names) == {s.event_name for s in builtin_registry().specs()}
    assert names["asset_accessed"] >= 5
    for line in _lines():
        wrapper = json.loads(line)
        assert set(wrapper) == {"metadata", "body"}
        assert "instructure" not in line.decode() and "oxana" not in line.decode()


def test_every_sample_maps_in_both_modes() -> None:
    for strict in (False, True):
        t = Transformer(strict=strict)
        profiles = {t.transform(line).profile for line in _lines()}
        assert {"reading", "basic", "forum", "grading", "session", "assessment", "assignable"} <= profiles
