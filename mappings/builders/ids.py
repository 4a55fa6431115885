"""URN and URL builders: the id conventions of Instructure's Caliper feed in one place."""

from __future__ import annotations

import re

from mappings.errors import MappingError
from mappings.model import CanvasEvent

CANVAS = "com.instructure.canvas"  # the extension namespace Instructure uses everywhere
CONTEXT = "http://purl.imsglobal.org/ctx/caliper/v1p1"
URN_PREFIX = "urn:instructure:canvas:"
# Instructure's DEFAULT_URL for events from asynchronous jobs (no request, so no hostname).
DEFAULT_APP_URL = "http://www.canvaslms.com/"

# Prefixes of the URNs built for every event, concatenated rather than formatted.
URN_USER = URN_PREFIX + "user:"
URN_COURSE = URN_PREFIX + "course:"

_HOST_OK = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?", re.ASCII).fullmatch


_app_urls: dict[str, str] = {}


def urn(kind: str, entity_id: str) -> str:
    return f"{URN_PREFIX}{kind}:{entity_id}"


def user_urn(user_id: str) -> str:
    return URN_USER + user_id


def course_urn(course_id: str) -> str:
    return URN_COURSE + course_id


def section_urn(course_id: str, section_id: str) -> str:
    return f"{URN_PREFIX}course:{course_id}:section:{section_id}"


def app_url(ev: CanvasEvent) -> str:
    """`http://<metadata.hostname>/`: sensor, edApp and the no-user actor; Canvas's default without one."""
    host = ev.meta.get("hostname")
    if host is None:
        return DEFAULT_APP_URL
    url = _app_urls.get(host) if type(host) is str else None
    if url is not None:
        return url
    if type(host) is str and _HOST_OK(host):
        url = "http://" + host + "/"
        if len(_app_urls) < 4096:  # a deployment sees a handful of hosts; bound it all the same
            _app_urls[host] = url
        return url
    raise MappingError(
        "map", f"metadata.hostname: {str(host)[:60]!r} is not a host name", "metadata.hostname"
    )
