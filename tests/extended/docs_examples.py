"""Instructure's documented examples of the 50 events it does not map, as test inputs."""

from __future__ import annotations

import copy
import json
from functools import cache

from tests.conftest import shared_dir

# SOURCES.md quirks of the examples themselves: grade_override's payload says grade_change.
NAME_FIXES = {"grade_override": "grade_override"}
# SOURCES.md: the year `019` in user_updated's updated_at is a typo of the sample data.
TYPO = ("user_updated", "updated_at", "019-11-01T19:11:01.163Z", "2019-11-01T19:11:01.163Z")


@cache
def _docs() -> dict[str, dict]:
    folder = shared_dir("canvas-docs", "canvas_only")
    docs = {}
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text())
        docs[doc["name"]] = doc
    return docs


def documented_names() -> list[str]:
    return sorted(_docs())


def doc(name: str) -> dict:
    return _docs()[name]


def example(name: str, *, fix_typo: bool = True) -> dict:
    """The documented payload, its event name set to the documented one, typos fixed."""
    payload = copy.deepcopy(doc(name)["examples"][0]["payload"])
    payload["metadata"]["event_name"] = name
    if fix_typo and name == TYPO[0] and payload["body"].get(TYPO[1]) == TYPO[2]:
        payload["body"][TYPO[1]] = TYPO[3]
    return payload
