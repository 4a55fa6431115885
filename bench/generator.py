"""Realistic Canvas live events at scale, from the project's own sample templates.

The mix follows what a Canvas instance emits on a term day: page views (asset_accessed) are about
70% of the stream, then submissions, logins, grades, discussions, enrollments and a long tail of
content edits. Events spread over many users and courses (a user takes a handful of courses, a
few users are much busier than most), carry timestamps spread over the school days of a month with jitter, and
asset_accessed events are 1 to 2 KB like real ones (long user agents, URLs and referrers).
Deterministic for a seed, so a child process can regenerate exactly what was loaded.
"""

from __future__ import annotations

import calendar
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

from bench.templates import (
    AGENT,
    COURSE,
    IP,
    LOGIN,
    OBJECT,
    REFERRER,
    REQUEST,
    SESSION,
    SIS,
    TIME,
    URL,
    USER,
    Template,
)

# Relative weights per event name; names the samples have but this table lacks get TAIL_WEIGHT.
MIX: dict[str, float] = {
    "asset_accessed": 70.0,
    "submission_created": 4.0,
    "submission_updated": 3.0,
    "logged_in": 4.0,
    "logged_out": 1.2,
    "grade_change": 3.5,
    "quiz_submitted": 1.2,
    "discussion_entry_created": 1.8,
    "discussion_topic_created": 0.3,
    "enrollment_created": 1.0,
    "enrollment_updated": 0.8,
    "enrollment_state_created": 0.6,
    "enrollment_state_updated": 0.9,
    "attachment_created": 1.2,
    "attachment_updated": 0.4,
    "assignment_updated": 0.8,
    "assignment_created": 0.3,
    "wiki_page_updated": 0.5,
    "wiki_page_created": 0.2,
    "course_updated": 0.3,
    "group_membership_created": 0.3,
    "user_account_association_created": 0.2,
    "quiz_updated": 0.2,
    "assignment_override_updated": 0.1,
}
TAIL_WEIGHT = 0.05

HOST = "canvas.example.edu"
USER_BASE = 10420000000100000  # Canvas global ids: shard prefix + local id
COURSE_BASE = 10420000000009000
OBJECT_BASE = 10420000001000000
USERS = 40_000
COURSES = 1_500
COURSES_PER_USER = 5
ASSET_MIN, ASSET_MAX = 1024, 2000  # size of an asset_accessed event in bytes (1 to 2 KB)
DAY_START = calendar.timegm((2026, 10, 1, 13, 0, 0))  # a morning in the Americas
DAY_SECONDS = 10 * 3600
MONTH_DAYS = 31  # every day of a 31-day month: timestamp handling differs near a month's end

AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 canvasStudent/7.12.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.6668.81 Mobile Safari/537.36",
    "candroid/7.10.1 (Android 14; samsung SM-S918B) okhttp/4.12.0",
)
PAGES = (
    "modules",
    "assignments",
    "pages/week-{n}-reading",
    "quizzes/{n}",
    "discussion_topics/{n}",
    "files/{n}",
    "assignments/{n}",
    "grades",
    "external_tools/{n}",
    "announcements",
)


@dataclass(frozen=True, slots=True)
class Event:
    """One generated input record: Kafka key (the user id) and the raw Canvas JSON value."""

    key: bytes
    value: bytes
    event_name: str


def mix_weights(names: list[str]) -> dict[str, float]:
    """Normalised weights (summing to 1) for the event names that have a template."""
    raw = {name: MIX.get(name, TAIL_WEIGHT) for name in names}
    total = sum(raw.values())
    return {name: w / total for name, w in raw.items()}


class _Clock:
    """ISO-8601 UTC timestamps with milliseconds, caching the per-second prefix (formatting is hot)."""

    def __init__(self) -> None:
        self._prefix: dict[int, str] = {}

    def iso(self, epoch_ms: int) -> bytes:
        sec, ms = divmod(epoch_ms, 1000)
        prefix = self._prefix.get(sec)
        if prefix is None:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            self._prefix[sec] = prefix
        return f"{prefix}.{ms:03d}Z".encode()


class EventGenerator:
    """Yields `Event`s in a deterministic order for (templates, seed)."""

    def __init__(self, templates: dict[str, Template], seed: int = 1, *, users: int = USERS) -> None:
        if not templates:
            raise ValueError("no templates: the bench needs mappings/samples/canvas_events.jsonl")
        self.templates = templates
        self.seed = seed
        self.users = users
        self.courses = max(1, min(COURSES, users // 10))
        self.weights = mix_weights(sorted(templates))

    def _query_pool(self, rng: random.Random) -> list[str]:
        """Long module/LTI query strings that page-view URLs are cut from (real ones carry many)."""
        pool = []
        for _ in range(512):
            params = [f"module_item_id={rng.randrange(10**16, 10**17)}", "wrap=1"]
            params += [f"lti_ctx_{k}={rng.getrandbits(64):016x}" for k in range(2, 60)]
            pool.append("&".join(params))
        return pool

    def events(self, count: int) -> Iterator[Event]:
        rng = random.Random(self.seed)
        names = list(self.weights)
        picks = rng.choices(names, weights=[self.weights[n] for n in names], k=count)
        clock = _Clock()
        step_ms = max(1, DAY_SECONDS * 1000 // max(count, 1))
        user_ids = [b"%d" % (USER_BASE + i) for i in range(self.users)]
        logins = [b"student%d@%s" % (i, HOST.encode()) for i in range(self.users)]
        sis_ids = [b"SIS-%06d" % i for i in range(self.users)]
        course_ids = [b"%d" % (COURSE_BASE + i) for i in range(self.courses)]
        sessions = [b"%032x" % rng.getrandbits(128) for _ in range(min(self.users, 20_000))]
        ips = [b"%s.%d" % (net, host) for net in (b"198.51.100", b"203.0.113") for host in range(1, 255)]
        agents = [a.encode() for a in AGENTS]
        queries = self._query_pool(rng)
        pages = [p.format(n=rng.randrange(1, 99_999)).encode() for p in PAGES for _ in range(40)]
        host = HOST.encode()
        seed16 = self.seed & 0xFFFF
        for i, name in enumerate(picks):
            template = self.templates[name]
            # Skewed activity: a few users are much busier than most.
            u = int(self.users * rng.random() ** 1.6)
            course = course_ids[(u * 7 + rng.randrange(COURSES_PER_USER) * 131) % self.courses]
            bits = rng.getrandbits(64)
            values: dict[str, bytes] = {
                REQUEST: b"%08x-%04x-4%03x-8%03x-%012x"
                % (i & 0xFFFFFFFF, seed16, bits & 0xFFF, (bits >> 12) & 0xFFF, bits >> 24),
                TIME: clock.iso(
                    DAY_START * 1000 + (i % MONTH_DAYS) * 86_400_000 + i * step_ms + (bits & 0xFFF) - 2048
                ),
                SESSION: sessions[u % len(sessions)],
                USER: user_ids[u],
                LOGIN: logins[u],
                SIS: sis_ids[u],
                COURSE: course,
                IP: ips[u % len(ips)],
                AGENT: agents[u % len(agents)],
            }
            url = b"https://%s/courses/%s/%s" % (host, course, pages[bits % len(pages)])
            referrer = b"https://%s/courses/%s/%s" % (host, course, pages[(bits >> 8) % len(pages)])
            if name == "asset_accessed":
                # Grow URL and referrer with query strings until the event is 1 to 2 KB.
                target = ASSET_MIN + (bits >> 20) % (ASSET_MAX - ASSET_MIN)
                fixed = template.base_size + sum(len(values[s]) for s in template.slots if s in values)
                room = target - fixed - len(url) - len(referrer) - 2
                if room > 0:
                    q = queries[(bits >> 32) % len(queries)]
                    url += b"?" + q[: room // 2].encode()
                    referrer += b"?" + q[room // 2 : room].encode()
            values[URL] = url
            values[REFERRER] = referrer
            for slot in template.slots:
                if slot.startswith(OBJECT):
                    values[slot] = b"%d" % (OBJECT_BASE + rng.randrange(200_000))
            yield Event(key=user_ids[u], value=template.render(values), event_name=name)
