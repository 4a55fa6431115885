"""logged_in / logged_out: SessionEvents on the Canvas application (session profile)."""

from __future__ import annotations

from mappings.builders import CANVAS, app_url, standard_event
from mappings.model import CanvasEvent, check_extension_values
from mappings.registry import MappingSpec, mapping


@mapping("logged_in", object_type="SoftwareApplication", caliper_type="SessionEvent", action="LoggedIn")
@mapping("logged_out", object_type="SoftwareApplication", caliper_type="SessionEvent", action="LoggedOut")
def session(ev: CanvasEvent, spec: MappingSpec) -> dict:
    obj: dict = {"id": app_url(ev), "type": "SoftwareApplication"}
    redirect_url = ev.body.get("redirect_url") if spec.action == "LoggedIn" else None
    if redirect_url is not None:
        obj["extensions"] = {CANVAS: check_extension_values({"redirect_url": redirect_url}, "body")}
    return standard_event(ev, spec.caliper_type, spec.action, obj)
