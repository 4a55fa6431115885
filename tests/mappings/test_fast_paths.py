"""The hot-path shortcuts give the same answers as the general checks they stand in for."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.builders.actor import ACTOR_FIELDS
from mappings.builders.event import _REQUEST_FIELDS, is_iri
from mappings.errors import MappingError
from mappings.events.navigation import EXTENSIONS as ASSET_EXTENSIONS
from mappings.model import CanvasEvent, copy_present, extension_table, keep_present, present_copier
from mappings.timestamps import normalize_timestamp

# RFC 3987 as the validator reads it: a scheme, a colon, then no controls, white space or the
# delimiters <>"{}|\^` (written out here rather than imported, so the fast path is checked against
# an independent statement).
IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x20<>\"{}|\\^`\x7f-\x9f]*")

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
        ("https://canvas.example.edu/a\u1680b", False),  # any white space: the validator refuses it
        ("https://canvas.example.edu/a\u00a0b", False),
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


# -- compiled field tables -------------------------------------------------------------------------
EXTENSION_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
TABLE_KEYS = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8)


def _outcome(call) -> tuple:
    """What a copy gives: the dict with its key order, or the error's stage, field and reason."""
    try:
        result = call()
    except MappingError as exc:
        return ("error", exc.stage, exc.field, exc.reason)
    return ("ok", list(result.items()))


@pytest.mark.parametrize(
    ("pairs", "where"), [(ACTOR_FIELDS, "metadata"), (_REQUEST_FIELDS, "metadata")], ids=["actor", "request"]
)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_compiled_builder_tables_agree_with_copy_present(pairs, where, data) -> None:
    keys = [src for src, _ in pairs] + ["event_name", "real_user_id"]
    source = data.draw(st.dictionaries(st.sampled_from(keys), EXTENSION_VALUES))
    into = {"already": "there"}
    copier = present_copier(pairs, where)
    expected = _outcome(lambda: copy_present(source, pairs, where, dict(into)))
    assert _outcome(lambda: copier(source, dict(into))) == expected


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(st.tuples(TABLE_KEYS, TABLE_KEYS), max_size=6).map(tuple),
    values=st.lists(EXTENSION_VALUES, min_size=6, max_size=6),
    where=st.sampled_from(["metadata", "body", "odd 'where\" \\ name"]),
)
def test_compiled_tables_agree_with_copy_present_for_any_keys(pairs, values, where: str) -> None:
    # Keys with quotes, backslashes and non-ASCII text must come out as the same string literals.
    source = {src: value for (src, _), value in zip(pairs, values, strict=False)}
    copier = present_copier(pairs, where)
    assert _outcome(lambda: copier(source, {})) == _outcome(lambda: copy_present(source, pairs, where, {}))


def test_compiled_table_names_the_field_it_refuses() -> None:
    copier = present_copier((("user_sis_id", "sis"),), "metadata")
    with pytest.raises(MappingError) as info:
        copier({"user_sis_id": [1]}, {})
    assert info.value.field == "metadata.user_sis_id"
    assert copier({"user_sis_id": 7, "other": 1}, {"x": 1}) == {"x": 1, "sis": 7}


# -- id shortcuts --------------------------------------------------------------------------------
# The shortcut tests bytes.isalnum on the encoded text where the general rule is the IRI-safe
# regex; written out here again so the comparison is with an independent statement. No white space
# of any kind (U+1680, U+00A0, ...), as the validator's IRI rule says.
ID_RULE = re.compile(r"[^\s\x00-\x20<>\"{}|\\^`\x7f-\x9f]+")
ID_TEXT = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF_-:/ ", max_size=34),
    st.text(max_size=20),
    st.text(alphabet="1\u1680\u00a0\u2003\u3000", max_size=4),
    st.from_regex(r"[0-9]{1,20}", fullmatch=True),
)


@settings(max_examples=500, deadline=None)
@given(ID_TEXT)
def test_id_shortcuts_agree_with_the_iri_rule(value: str) -> None:
    usable = ID_RULE.fullmatch(value) is not None
    ev = CanvasEvent("asset_accessed", {"user_id": value}, {"asset_id": value, "asset_type": value})
    for read in (
        lambda: ev.meta_id("user_id"),
        lambda: ev.body_id("asset_type"),
        lambda: ev.require_id("asset_id"),
    ):
        if usable:
            assert read() == value
        else:
            with pytest.raises(MappingError):
                read()


@pytest.mark.parametrize("value", ["١٢٣", "ⅷ", "²", "\uff411", "x\u00b2"])
def test_non_ascii_alphanumerics_take_the_general_rule(value: str) -> None:
    # str.isalnum says yes to these; they are still usable in a URN, through the regex.
    assert value.isalnum() and not value.isascii()
    assert CanvasEvent("logged_in", {"user_id": value}, {}).meta_id("user_id") == value


def test_lone_surrogates_in_ids_follow_the_general_rule() -> None:
    # Not ASCII, so never encoded (which would raise UnicodeEncodeError): the regex decides.
    value = "12\ud800"
    assert ID_RULE.fullmatch(value)
    assert CanvasEvent("logged_in", {"user_id": value}, {}).meta_id("user_id") == value


# -- canonical dates on every day of the month -----------------------------------------------------
@settings(max_examples=1000, deadline=None)
@given(
    st.integers(min_value=1, max_value=9999),
    st.integers(min_value=0, max_value=13),
    st.integers(min_value=0, max_value=32),
    st.integers(min_value=0, max_value=23),
    st.sampled_from([".417Z", "Z", "+01:00", "-0800", " -0800"]),
)
def test_dates_agree_with_the_calendar(year: int, month: int, day: int, hour: int, tail: str) -> None:
    given = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:07:09{tail}"
    try:
        local = datetime(year, month, day, hour, 7, 9)
    except ValueError:
        with pytest.raises(MappingError):
            normalize_timestamp(given, "metadata.event_time")
        return
    millis = 417 if tail == ".417Z" else 0
    offset = {"+01:00": 60, "-0800": -480, " -0800": -480}.get(tail, 0)
    try:
        utc = local.replace(microsecond=millis * 1000) - timedelta(minutes=offset)
    except OverflowError:  # 9999-12-31 shifted past the last year datetime knows
        with pytest.raises(MappingError):
            normalize_timestamp(given, "metadata.event_time")
        return
    expected = f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}.{millis:03d}Z"
    assert normalize_timestamp(given, "metadata.event_time") == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-09-30T08:02:11.417Z", "2026-09-30T08:02:11.417Z"),
        ("2026-10-31T23:59:59.999Z", "2026-10-31T23:59:59.999Z"),
        ("2026-01-29T00:00:00Z", "2026-01-29T00:00:00.000Z"),
        ("2028-02-29T12:00:00.000Z", "2028-02-29T12:00:00.000Z"),  # leap day: the calendar path
        ("0000-01-28T10:00:00.000Z", "0000-01-28T10:00:00.000Z"),  # as it always was
    ],
)
def test_month_ends_stay_canonical(given: str, expected: str) -> None:
    assert normalize_timestamp(given, "metadata.event_time") == expected


@pytest.mark.parametrize(
    "given",
    [
        "2026-09-31T08:02:11.417Z",
        "2026-04-31T08:02:11Z",
        "2026-02-29T08:02:11.417Z",
        "2026-02-30T08:02:11.417Z",
        "0000-01-30T10:00:00.000Z",
        "0000-03-31T10:00:00Z",
    ],
)
def test_days_a_month_lacks_are_refused(given: str) -> None:
    with pytest.raises(MappingError) as info:
        normalize_timestamp(given, "metadata.event_time")
    assert info.value.field == "metadata.event_time"


# -- compiled extension tables -------------------------------------------------------------------
def _asset_extensions_as_literal(ev: CanvasEvent, asset_id: str) -> dict:
    """asset_accessed's object extensions written out as a dict literal for keep_present."""
    body, meta = ev.body, ev.meta
    return keep_present(
        {
            "asset_name": body.get("asset_name"),
            "asset_type": body.get("asset_type"),
            "asset_subtype": body.get("asset_subtype"),
            "entity_id": asset_id,
            "context_account_id": meta.get("context_account_id"),
            "http_method": meta.get("http_method"),
            "developer_key_id": meta.get("developer_key_id"),
            "filename": body.get("filename"),
            "display_name": body.get("display_name"),
            "url": body.get("url"),
            "domain": body.get("domain"),
        },
        "asset_accessed",
    )


BODY_KEYS = ["asset_name", "asset_type", "asset_subtype", "filename", "display_name", "url", "domain", "x"]
META_KEYS = ["context_account_id", "http_method", "developer_key_id", "user_id"]


@settings(max_examples=500, deadline=None)
@given(
    body=st.dictionaries(st.sampled_from(BODY_KEYS), EXTENSION_VALUES),
    meta=st.dictionaries(st.sampled_from(META_KEYS), EXTENSION_VALUES),
    asset_id=st.text(alphabet="0123456789", min_size=1, max_size=18),
)
def test_asset_extension_table_agrees_with_keep_present(body: dict, meta: dict, asset_id: str) -> None:
    ev = CanvasEvent("asset_accessed", meta, body)
    expected = _outcome(lambda: _asset_extensions_as_literal(ev, asset_id))
    assert _outcome(lambda: ASSET_EXTENSIONS(ev, asset_id=asset_id)) == expected


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(TABLE_KEYS, min_size=1, max_size=5, unique=True),
    sources=st.lists(st.sampled_from(["body", "metadata", "computed"]), min_size=5, max_size=5),
    values=st.lists(EXTENSION_VALUES, min_size=5, max_size=5),
)
def test_extension_tables_agree_with_keep_present_for_any_keys(keys, sources, values) -> None:
    body, meta, computed, literal, fields = {}, {}, {}, {}, {}
    for index, (key, source, value) in enumerate(zip(keys, sources, values, strict=False)):
        if source == "computed":
            name = f"value_{index}"
            computed[name] = value
            fields[key] = name
        else:
            (body if source == "body" else meta)[key] = value
            fields[key] = f"{source}.{key}"
        literal[key] = value
    table = extension_table("odd 'where\" \\", fields)
    ev = CanvasEvent("asset_accessed", meta, body)
    expected = _outcome(lambda: keep_present(literal, "odd 'where\" \\"))
    assert _outcome(lambda: table(ev, **computed)) == expected


@pytest.mark.parametrize("source", ["request.url", "body.", "not a name", "metadata", "value", "class"])
def test_extension_tables_refuse_unknown_sources(source: str) -> None:
    with pytest.raises(ValueError, match="not body"):
        extension_table("asset_accessed", {"url": source})


def test_one_computed_value_may_fill_two_keys() -> None:
    table = extension_table("grading", {"entity_id": "grade_id", "grade_id": "grade_id", "a": "body.a"})
    ev = CanvasEvent("grade_change", {}, {"a": 2})
    assert list(table(ev, grade_id="7").items()) == [("entity_id", "7"), ("grade_id", "7"), ("a", 2)]
