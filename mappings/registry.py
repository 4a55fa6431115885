"""The registry: Canvas event name -> mapping function, Caliper type, action and profile.

Built-in mappings live in `mappings.events.*`; a school adds or replaces mappings without forking
by publishing a package with an entry point in the group `caliper_processor.mappings`:

    [project.entry-points."caliper_processor.mappings"]
    my_school = "my_school_caliper.mappings"          # a module whose @mapping functions register

The entry point may also name one decorated function, or a callable taking the Registry.
Registering one event name twice is an error at start-up (RegistryError naming both) unless the
newcomer says `override=True`; `caliper-processor mappings` marks such overrides.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
import types
from collections.abc import Callable
from dataclasses import dataclass

ENTRY_POINT_GROUP = "caliper_processor.mappings"

BUILTIN_MODULES = (
    "mappings.events.navigation",
    "mappings.events.assignments",
    "mappings.events.attachments",
    "mappings.events.courses",
    "mappings.events.discussions",
    "mappings.events.enrollments",
    "mappings.events.grading",
    "mappings.events.groups",
    "mappings.events.sessions",
    "mappings.events.quizzes",
    "mappings.events.submissions",
    "mappings.events.accounts",
    "mappings.events.wiki",
)

# `processor.mappings`: "instructure" maps the 32 events of Instructure's Caliper feed, exactly as
# documented; "extended" adds a 1.1-conformant form for the 50 Canvas events Instructure never
# maps (mappings/extended/, one module per family) and carries unnamed body fields.
MODES = ("instructure", "extended")
DEFAULT_MODE = "instructure"
EXTENDED_MODULES = (
    "mappings.extended.accounts",
    "mappings.extended.assignment_groups",
    "mappings.extended.conversations",
    "mappings.extended.course_progress",
    "mappings.extended.discussions",
    "mappings.extended.grades",
    "mappings.extended.groups",
    "mappings.extended.lti",
    "mappings.extended.migrations",
    "mappings.extended.modules",
    "mappings.extended.outcome_results",
    "mappings.extended.outcomes",
    "mappings.extended.rubrics",
    "mappings.extended.sections",
    "mappings.extended.sis_imports",
    "mappings.extended.submissions",
    "mappings.extended.users",
)

PROFILES = (
    "basic",
    "session",
    "reading",
    "assignable",
    "assessment",
    "grading",
    "forum",
    "media",
    "annotation",
    "tooluse",
)

# The Caliper 1.1 metric profile of each event type (DESIGN.md); anything else is basic.
PROFILE_OF_TYPE = {
    "Event": "basic",
    "SessionEvent": "session",
    "NavigationEvent": "reading",
    "ViewEvent": "reading",
    "AssignableEvent": "assignable",
    "AssessmentEvent": "assessment",
    "AssessmentItemEvent": "assessment",
    "GradeEvent": "grading",
    "MessageEvent": "forum",
    "ThreadEvent": "forum",
    "ForumEvent": "forum",
    "MediaEvent": "media",
    "AnnotationEvent": "annotation",
    "ToolUseEvent": "tooluse",
}


def profile_of(caliper_type: str) -> str:
    return PROFILE_OF_TYPE.get(caliper_type, "basic")


class RegistryError(Exception):
    """A registry that cannot be built: a clash of two mappings, or a plug-in that fails to load."""


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """One Canvas event name and how it becomes Caliper.

    func(event, spec) -> Caliper event dict (without id). `strict` (optional) rewrites that dict
    in place into the spec-conformant form; `strict_type` is the type that form carries.
    `object_type` is the Caliper type of the event's object (for the generated docs), `mode` the
    mapping set that holds it, `why` where the rule comes from, and `ignores` the documented body
    fields it drops on purpose (extended mode carries every other field it does not read).
    """

    event_name: str
    caliper_type: str
    action: str
    profile: str
    func: Callable
    strict_type: str
    strict_profile: str
    strict: Callable[[dict], None] | None = None
    profile_fixed: bool = False
    override: bool = False
    source: str = ""
    overrides: str | None = None
    object_type: str = ""
    mode: str = DEFAULT_MODE
    why: str = ""
    ignores: frozenset[str] = frozenset()


_SPECS_ATTR = "__caliper_specs__"


def mapping(
    *event_names: str,
    caliper_type: str,
    action: str,
    profile: str | None = None,
    strict_type: str | None = None,
    strict: Callable[[dict], None] | None = None,
    override: bool = False,
    object_type: str = "",
    mode: str = DEFAULT_MODE,
    why: str = "",
    ignores: tuple[str, ...] = (),
) -> Callable[[Callable], Callable]:
    """Declare `func` as the mapping of `event_names`. Stack it for names with different actions.

    The profile defaults to the Caliper type's metric profile; pass `profile=` to route elsewhere.
    Declaring does not register: a Registry picks declared functions up from their module.
    """
    if not event_names:
        raise TypeError("mapping() needs at least one Canvas event name")
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; one of {', '.join(PROFILES)}")
    if mode not in MODES:
        raise ValueError(f"unknown mappings mode {mode!r}; one of {', '.join(MODES)}")

    def decorate(func: Callable) -> Callable:
        source = f"{func.__module__}:{func.__qualname__}"
        stype = strict_type or caliper_type
        specs = [
            MappingSpec(
                event_name=name,
                caliper_type=caliper_type,
                action=action,
                profile=profile or profile_of(caliper_type),
                func=func,
                strict_type=stype,
                strict_profile=profile or profile_of(stype),
                strict=strict,
                profile_fixed=profile is not None,
                override=override,
                source=source,
                object_type=object_type,
                mode=mode,
                why=why,
                ignores=frozenset(ignores),
            )
            for name in event_names
        ]
        setattr(func, _SPECS_ATTR, [*specs, *getattr(func, _SPECS_ATTR, [])])
        return func

    return decorate


class Registry:
    """Event name -> MappingSpec. Lookups are plain dict reads (the worker does one per event)."""

    def __init__(self) -> None:
        self._specs: dict[str, MappingSpec] = {}
        # lookup(event_name) -> MappingSpec | None is the dict's own `get`: no Python frame per event.
        self.lookup: Callable[[str], MappingSpec | None] = self._specs.get

    def register(self, spec: MappingSpec) -> None:
        existing = self._specs.get(spec.event_name)
        if existing is not None:
            if not spec.override or existing.override:
                raise RegistryError(
                    f"two mappings for Canvas event {spec.event_name!r}: {existing.source} and "
                    f"{spec.source}; mark the replacement with @mapping(..., override=True)"
                    if not existing.override
                    else f"two overrides for Canvas event {spec.event_name!r}: {existing.source} "
                    f"and {spec.source}"
                )
            spec = dataclasses.replace(spec, overrides=existing.source)
        self._specs[spec.event_name] = spec

    def register_function(self, func: Callable) -> None:
        specs = getattr(func, _SPECS_ATTR, None)
        if not specs:
            raise RegistryError(f"{func!r} is not decorated with @mapping")
        for spec in reversed(specs):  # decorators apply bottom-up; register top-down
            self.register(spec)

    def register_module(self, module: types.ModuleType) -> int:
        """Register every @mapping function defined in `module` (not ones it imports)."""
        count = 0
        for value in vars(module).values():
            if getattr(value, _SPECS_ATTR, None) and getattr(value, "__module__", None) == module.__name__:
                self.register_function(value)
                count += 1
        return count

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        for ep in importlib.metadata.entry_points(group=group):
            try:
                target = ep.load()
            except Exception as exc:
                raise RegistryError(
                    f"mapping plug-in {ep.name} = {ep.value} failed to load: {exc!r}"
                ) from exc
            if isinstance(target, types.ModuleType):
                self.register_module(target)
            elif getattr(target, _SPECS_ATTR, None):
                self.register_function(target)
            elif callable(target):
                target(self)
            else:
                raise RegistryError(
                    f"mapping plug-in {ep.name} = {ep.value} is neither a module nor callable"
                )

    def specs(self) -> list[MappingSpec]:
        return sorted(self._specs.values(), key=lambda s: s.event_name)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, event_name: object) -> bool:
        return event_name in self._specs


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise RegistryError(f"unknown mappings mode {mode!r} (expected {' or '.join(MODES)})")
    return mode


def builtin_registry(mode: str = DEFAULT_MODE) -> Registry:
    """No plug-ins: the 32 mappings of Instructure's documented Caliper events ("instructure"),
    or those plus the 50 Canvas events Instructure does not map ("extended")."""
    modules = BUILTIN_MODULES + (EXTENDED_MODULES if check_mode(mode) == "extended" else ())
    registry = Registry()
    for name in modules:
        registry.register_module(importlib.import_module(name))
    return registry


@functools.cache
def default_registry(mode: str = DEFAULT_MODE) -> Registry:
    """Built-ins of `mode` plus every installed plug-in; built once per process and mode."""
    registry = builtin_registry(mode)
    registry.load_entry_points()
    return registry
