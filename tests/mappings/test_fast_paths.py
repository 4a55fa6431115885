"""The hot-path shortcuts give the same answers as the general checks they stand in for."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.builders.event import is_iri
from mappings.errors import MappingError
from mappings.model import CanvasEvent
from mappings.timestamps import normalize_timestamp

# RFC 3987: a scheme, a colon, then no controls, spaces or the delimiters <>"{}|\^` (written out
# here rather than imported, so the fast path is checked against an independent statement).
IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|\\^`\x7f-\x9f]*")

URL_TAILS = st.text(alphabet=st.characters(max_codepoint=0xA0), max_size=40)
REFERRERS = st.one_of(
    st.builds(
        lambda scheme, tail: scheme + tail, st.sampled_from(["https://", "http://", "HTTP://"]), URL_TAILS
    ),
    st.text(max_size=40),
)


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("https://canvas.example.edu/courses/7/modules?module_item_id=12&wrap=1", True),
        ("http://canvas.example.edu/", True),
        ("https://canvas.example.edu/café", True),  # non-ASCII IRI characters are allowed
        ("mailto:registrar@example.edu", True),
        ("https://canvas.example.edu/a b", False),
        ("https://canvas.example.edu/<script>", False),
        ('https://canvas.example.edu/"q"', False),
        ("https://canvas.example.edu/a\x7fb", False),
        ("https://canvas.example.edu/a\x85b", False),
        ("https://canvas.example.edu/a\tb", False),
        ("/courses/7/modules", False),
        ("", False),
    ],
)
def test_referrer_check_examples(referrer: str, expected: bool) -> None:
    assert is_iri(referrer) is expected


@settings(max_examples=500, deadline=None)
@given(REFERRERS)
def test_referrer_check_agrees_with_the_iri_rule(referrer: str) -> None:
    assert is_iri(referrer) is (IRI.fullmatch(referrer) is not None)


@pytest.mark.parametrize("value", ["wiki_page", "discussion_topic", "_x", "10420000001004406"])
def test_identifier_like_body_ids_pass_as_they_are(value: str) -> None:
    assert CanvasEvent("asset_accessed", {}, {"asset_type": value}).body_id("asset_type") == value


@pytest.mark.parametrize("value", ["quizzes:quiz", "lti/tool_proxy", "wikí_page"])
def test_other_usable_body_ids_still_pass(value: str) -> None:
    assert CanvasEvent("asset_accessed", {}, {"asset_type": value}).body_id("asset_type") == value


@pytest.mark.parametrize("value", ["", "wiki page", "a<b"])
def test_unusable_body_ids_are_still_refused(value: str) -> None:
    with pytest.raises(MappingError) as info:
        CanvasEvent("asset_accessed", {}, {"asset_type": value}).body_id("asset_type")
    assert info.value.field == "body.asset_type"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-09-21T21:13:37+01:00", "2026-09-21T20:13:37.000Z"),
        ("2026-09-21T21:13:37.5-01:30", "2026-09-21T22:43:37.500Z"),
        ("2026-09-21T21:13:37.123456+0530", "2026-09-21T15:43:37.123Z"),
        ("2026-09-21 09:13:37 -0800", "2026-09-21T17:13:37.000Z"),
        ("2026-09-21T00:13:37+01:00", "2026-09-20T23:13:37.000Z"),  # crosses midnight backwards
        ("2026-09-21 21:13:37 -0800", "2026-09-22T05:13:37.000Z"),  # and forwards
        ("2026-02-28T23:30:00-01:00", "2026-03-01T00:30:00.000Z"),  # into the next month
        ("2028-02-29T12:00:00+02:00", "2028-02-29T10:00:00.000Z"),  # leap day: the calendar path
        ("2026-12-31T23:59:59.999-00:01", "2027-01-01T00:00:59.999Z"),
    ],
)
def test_offsets(given: str, expected: str) -> None:
    assert normalize_timestamp(given, "body.updated_at") == expected


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2999, 12, 30)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
    st.sampled_from(["", ".1", ".12", ".123", ".123456789"]),
    st.sampled_from(["T", " "]),
    st.sampled_from([":", ""]),
)
def test_offsets_agree_with_datetime(
    local: datetime, offset_minutes: int, fraction: str, separator: str, colon: str
) -> None:
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    given = f"{local:%Y-%m-%d}{separator}{local:%H:%M:%S}{fraction}{sign}{hours:02d}{colon}{minutes:02d}"
    millis = int((fraction[1:] or "0")[:3].ljust(3, "0"))
    utc = local.replace(microsecond=millis * 1000) - timedelta(minutes=offset_minutes)
    expected = f"{utc:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"
    assert normalize_timestamp(given, "body.updated_at") == expected


@pytest.mark.parametrize(
    "given", ["0000-07-03T11:14:12-08:00", "2026-09-21T21:13:37+24:00", "2026-13-01T10:00:00+01:00"]
)
def test_offset_forms_datetime_refuses_stay_errors(given: str) -> None:
    with pytest.raises(MappingError) as info:
        normalize_timestamp(given, "body.updated_at")
    assert info.value.field == "body.updated_at"
