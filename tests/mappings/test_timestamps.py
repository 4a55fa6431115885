"""Every timestamp form of decision 6 -> `YYYY-MM-DDTHH:MM:SS.sssZ` UTC; junk -> a map error."""

from __future__ import annotations

import pytest

from mappings.errors import MappingError
from mappings.timestamps import normalize_timestamp, utc_now_ms
from mappings.transform import Transformer
from tests.mappings.canvas_builders import canvas_event


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-10-02T09:15:00.250Z", "2026-10-02T09:15:00.250Z"),  # canonical (Canvas iso8601(3))
        ("2026-10-02T09:15:00Z", "2026-10-02T09:15:00.000Z"),  # no fraction (older Canvas)
        ("2026-10-02T09:15:00.2Z", "2026-10-02T09:15:00.200Z"),
        ("2026-10-02T09:15:00.123456Z", "2026-10-02T09:15:00.123Z"),  # microseconds: truncated
        ("2026-10-02T09:15:00+00:00", "2026-10-02T09:15:00.000Z"),
        ("2026-10-02T02:15:00-07:00", "2026-10-02T09:15:00.000Z"),
        ("2026-10-02T14:45:00.5+05:30", "2026-10-02T09:15:00.500Z"),
        ("2026-10-02T10:15:00+0100", "2026-10-02T09:15:00.000Z"),
        ("2026-10-02 01:15:00 -0800", "2026-10-02T09:15:00.000Z"),  # Ruby Time#to_s
        ("2026-10-01 23:15:00 -1000", "2026-10-02T09:15:00.000Z"),  # crosses midnight
        ("2026-10-02T09:15:00", "2026-10-02T09:15:00.000Z"),  # no zone: UTC
        ("2026-10-02 09:15:00", "2026-10-02T09:15:00.000Z"),
        ("2026-10-02", "2026-10-02T00:00:00.000Z"),  # a date (all_day_date)
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z"),  # leap day
        ("2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00.000Z"),  # crosses the year
        ("0001-01-01T00:00:00", "0001-01-01T00:00:00.000Z"),  # four-digit year, always
    ],
)
def test_forms(given: str, expected: str) -> None:
    assert normalize_timestamp(given, "body.x") == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "yesterday",
        "2026-13-02T09:15:00Z",
        "2026-02-30T09:15:00Z",
        "2026-10-02T25:00:00Z",
        "02/10/2026",
        "2026-10-02T09:15:00+24:00",
        "\uff12\uff10\uff12\uff16-10-02T09:15:00Z",  # full-width digits
        "2026-10-02T09:15:00.250Zjunk",
    ],
)
def test_unparseable_is_a_map_error_naming_the_field(given: str) -> None:
    with pytest.raises(MappingError) as info:
        normalize_timestamp(given, "body.due_at")
    assert info.value.stage == "map" and info.value.field == "body.due_at"
    assert "body.due_at" in info.value.reason


@pytest.mark.parametrize("given", [1727860500, 1.5, True, ["2026-10-02"], {"t": 1}])
def test_wrong_type_is_a_map_error(given) -> None:
    with pytest.raises(MappingError) as info:
        normalize_timestamp(given, "metadata.event_time")
    assert info.value.field == "metadata.event_time"


def test_event_time_missing_or_bad_in_an_event() -> None:
    t = Transformer()
    with pytest.raises(MappingError) as info:
        t.transform_obj(canvas_event("wiki_page_created", {"wiki_page_id": "1"}, event_time=None))
    assert (info.value.stage, info.value.field) == ("map", "metadata.event_time")
    with pytest.raises(MappingError) as info:
        t.transform_obj(canvas_event("assignment_created", {"assignment_id": "1", "due_at": "next friday"}))
    assert (info.value.stage, info.value.field) == ("map", "body.due_at")


def test_send_time_is_canonical_and_now() -> None:
    import re
    from datetime import UTC, datetime

    before = datetime.now(UTC).replace(microsecond=0)
    sent = utc_now_ms()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", sent)
    parsed = datetime.strptime(sent, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert 0 <= (parsed - before).total_seconds() < 5
