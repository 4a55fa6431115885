"""The registry: built-ins, plug-ins through entry points, clashes and overrides."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap
import uuid

import orjson
import pytest

from mappings.registry import (
    ENTRY_POINT_GROUP,
    MappingSpec,
    Registry,
    RegistryError,
    builtin_registry,
    default_registry,
    mapping,
)
from mappings.transform import Transformer
from tests.mappings.canvas_builders import canvas_event

PLUGIN = """
from mappings.builders import entity, standard_event
from mappings.registry import mapping


@mapping("module_created", caliper_type="Event", action="Created")
def module_created(ev, spec):
    name = {"name": ev.body_str("name")}
    obj = entity("module", ev.require_id("module_id"), "DigitalResourceCollection", name)
    return standard_event(ev, spec.caliper_type, spec.action, obj)


@mapping("logged_in", caliper_type="SessionEvent", action="LoggedIn", profile="basic", override=OVERRIDE)
def my_logged_in(ev, spec):
    obj = {"id": "http://sso.example.ac.uk/", "type": "SoftwareApplication"}
    return standard_event(ev, spec.caliper_type, spec.action, obj)
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """Install a fake distribution's entry point naming the module `school_mappings_<n>`."""
    names: list[str] = []

    def install(source: str, value_suffix: str = "") -> str:
        name = f"school_mappings_{uuid.uuid4().hex}"  # a fresh module: never one cached by an earlier test
        names.append(name)
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        ep = importlib.metadata.EntryPoint(name="school", value=name + value_suffix, group=ENTRY_POINT_GROUP)

        def entry_points(**kwargs):
            assert kwargs == {"group": ENTRY_POINT_GROUP}
            return importlib.metadata.EntryPoints([ep])

        monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
        return name

    default_registry.cache_clear()
    yield install
    default_registry.cache_clear()
    for name in names:
        sys.modules.pop(name, None)


def test_builtins_are_the_32_documented_events() -> None:
    specs = builtin_registry().specs()
    assert len(specs) == 32
    by_name = {s.event_name: s for s in specs}
    assert (by_name["asset_accessed"].caliper_type, by_name["asset_accessed"].profile) == (
        "NavigationEvent",
        "reading",
    )
    assert (by_name["grade_change"].action, by_name["grade_change"].profile) == ("Graded", "grading")
    assert by_name["discussion_topic_created"].strict_type == "Event"
    assert by_name["discussion_topic_created"].strict_profile == "basic"
    assert all(s.overrides is None and s.source.startswith("mappings.events.") for s in specs)


def test_lookup_and_profile_default() -> None:
    registry = builtin_registry()
    assert registry.lookup("no_such_event") is None
    spec = registry.lookup("submission_created")
    assert isinstance(spec, MappingSpec)
    assert (spec.caliper_type, spec.action, spec.profile) == ("AssignableEvent", "Submitted", "assignable")


def test_plugin_adds_and_overrides(plugin) -> None:
    plugin(PLUGIN.replace("OVERRIDE", "True"))
    registry = default_registry()
    assert len(registry) == 33
    added = registry.lookup("module_created")
    assert added.source.endswith(":module_created") and added.overrides is None
    replaced = registry.lookup("logged_in")
    assert replaced.overrides == "mappings.events.sessions:session"
    assert replaced.profile == "basic"
    t = Transformer(registry=registry)
    out = t.transform(orjson.dumps(canvas_event("module_created", {"module_id": "31", "name": "Week 1"})))
    assert out.event["object"]["id"] == "urn:instructure:canvas:module:31"
    login = t.transform(orjson.dumps(canvas_event("logged_in", {})))
    assert login.event["object"]["id"] == "http://sso.example.ac.uk/"
    assert login.profile == "basic"  # the plug-in's explicit profile wins over SessionEvent's


def test_plugin_clash_without_override_names_both(plugin) -> None:
    name = plugin(PLUGIN.replace("OVERRIDE", "False"))
    with pytest.raises(RegistryError) as info:
        default_registry()
    message = str(info.value)
    assert "logged_in" in message
    assert "mappings.events.sessions:session" in message
    assert f"{name}:my_logged_in" in message


def test_plugin_callable_receives_the_registry(plugin) -> None:
    source = (
        PLUGIN.replace("OVERRIDE", "False").replace('@mapping("logged_in"', '@mapping("conversation_created"')
        + "\n\ndef register(registry):\n    registry.register_function(module_created)\n"
    )
    plugin(source, ":register")
    registry = default_registry()
    assert "module_created" in registry
    assert "conversation_created" not in registry  # only what the callable registered


def test_plugin_that_fails_to_import_is_a_clear_error(plugin) -> None:
    plugin("raise ImportError('missing dependency')\n")
    with pytest.raises(RegistryError, match="failed to load"):
        default_registry()


def test_two_overrides_of_one_event_clash() -> None:
    @mapping("logged_out", caliper_type="SessionEvent", action="LoggedOut", override=True)
    def first(ev, spec):  # pragma: no cover - never called
        return {}

    @mapping("logged_out", caliper_type="SessionEvent", action="LoggedOut", override=True)
    def second(ev, spec):  # pragma: no cover - never called
        return {}

    registry = builtin_registry()
    registry.register_function(first)
    with pytest.raises(RegistryError, match="two overrides"):
        registry.register_function(second)


def test_decorator_validation() -> None:
    with pytest.raises(TypeError):
        mapping(caliper_type="Event", action="Created")
    with pytest.raises(ValueError, match="unknown profile"):
        mapping("x", caliper_type="Event", action="Created", profile="nonsense")
    with pytest.raises(RegistryError):
        Registry().register_function(lambda ev, spec: {})


def test_one_function_for_several_names() -> None:
    @mapping("a_created", caliper_type="Event", action="Created")
    @mapping("a_deleted", caliper_type="Event", action="Deleted")
    def a(ev, spec):  # pragma: no cover - never called
        return {}

    registry = Registry()
    registry.register_function(a)
    assert [(s.event_name, s.action) for s in registry.specs()] == [
        ("a_created", "Created"),
        ("a_deleted", "Deleted"),
    ]


def test_a_crashing_mapping_becomes_a_map_error() -> None:
    @mapping("boom", caliper_type="Event", action="Created")
    def boom(ev, spec):
        raise KeyError("oops")

    registry = Registry()
    registry.register_function(boom)
    from mappings.errors import MappingError

    with pytest.raises(MappingError) as info:
        Transformer(registry=registry).transform(orjson.dumps(canvas_event("boom", {})))
    assert info.value.stage == "map" and "boom" in info.value.reason


def test_mappings_command_marks_overrides(plugin, capsys) -> None:
    from processor.cli import main

    name = plugin(PLUGIN.replace("OVERRIDE", "True"))
    assert main(["mappings"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("logged_in"))
    assert row.split()[:5] == ["logged_in", "*", "SessionEvent", "LoggedIn", "basic"]
    assert f"* logged_in: {name}:my_logged_in replaces mappings.events.sessions:session" in out
    assert "33 Canvas events mapped." in out
