"""Wrappers (decision 7), null == missing (decision 8), and the errors for malformed input."""

from __future__ import annotations

import json

import orjson
import pytest

from mappings.errors import MappingError, UnmappedEventError
from mappings.transform import Transformer

T = Transformer()
META = {
    "event_name": "wiki_page_created",
    "event_time": "2026-10-02T09:15:00Z",
    "user_id": "20001",
    "hostname": "lms.example.ac.uk",
}
BODY = {"wiki_page_id": "8801", "title": "Limits"}
OBJECT_ID = "urn:instructure:canvas:wikiPage:8801"


@pytest.mark.parametrize(
    "wrapped",
    [
        {"metadata": META, "body": BODY},
        {"attributes": META, "body": BODY},
        {"metadata": META, "data": BODY},
        {"metadata": META, "body": json.dumps(BODY)},  # body as a JSON string
        {"metadata": META, "body": None, "data": BODY},
        {"metadata": None, "attributes": META, "body": BODY},
    ],
)
def test_accepted_wrappers(wrapped: dict) -> None:
    out = T.transform(orjson.dumps(wrapped))
    assert out.event["object"]["id"] == OBJECT_ID
    assert out.event_name == "wiki_page_created"


def test_missing_body_is_an_empty_body() -> None:
    out = T.transform(orjson.dumps({"metadata": {**META, "event_name": "logged_out"}}))
    assert out.event["action"] == "LoggedOut"


@pytest.mark.parametrize(
    ("raw", "stage", "field"),
    [
        (b"", "decode", None),
        (b"{not json", "decode", None),
        (b"[1, 2]", "decode", None),
        (b'"a string"', "decode", None),
        (b"null", "decode", None),
        (b'{"body": {}}', "unwrap", "metadata"),
        (b'{"metadata": [], "body": {}}', "unwrap", "metadata"),
        (b'{"attributes": "x", "body": {}}', "unwrap", "attributes"),
        (
            b'{"metadata": {"event_time": "2026-10-02T09:15:00Z"}, "body": {}}',
            "unwrap",
            "metadata.event_name",
        ),
        (b'{"metadata": {"event_name": ""}, "body": {}}', "unwrap", "metadata.event_name"),
        (b'{"metadata": {"event_name": 5}, "body": {}}', "unwrap", "metadata.event_name"),
        (b'{"attributes": {"event_name": null}}', "unwrap", "attributes.event_name"),
        (b'{"metadata": {"event_name": "logged_in"}, "body": [1]}', "unwrap", "body"),
        (b'{"metadata": {"event_name": "logged_in"}, "body": "not json"}', "unwrap", "body"),
        (b'{"metadata": {"event_name": "logged_in"}, "body": "[1]"}', "unwrap", "body"),
        (b'{"metadata": {"event_name": "logged_in"}, "data": 3}', "unwrap", "data"),
    ],
)
def test_malformed_input(raw: bytes, stage: str, field: str | None) -> None:
    with pytest.raises(MappingError) as info:
        T.transform(raw)
    assert (info.value.stage, info.value.field) == (stage, field)
    if field:
        assert field in info.value.reason


def test_unmapped_event() -> None:
    with pytest.raises(UnmappedEventError) as info:
        T.transform(orjson.dumps({"metadata": {"event_name": "module_created"}, "body": {}}))
    assert info.value.stage == "unmapped"
    assert info.value.event_name == "module_created"


def test_required_object_id_missing_or_junk() -> None:
    for body, reason_part in (
        ({}, "body.wiki_page_id is required"),
        ({"wiki_page_id": {"x": 1}}, "body.wiki_page_id"),
        ({"wiki_page_id": "a b"}, "body.wiki_page_id"),
        ({"wiki_page_id": True}, "body.wiki_page_id"),
    ):
        with pytest.raises(MappingError) as info:
            T.transform(orjson.dumps({"metadata": META, "body": body}))
        assert info.value.stage == "map"
        assert reason_part in info.value.reason


@pytest.mark.parametrize("space", ["\u1680", "\u00a0", "\u2003", "\u3000"])
def test_an_id_with_unicode_white_space_is_a_map_error(space: str) -> None:
    """The validator refuses any white space in an IRI, so an id holding one cannot make a URN."""
    for meta, body, field in (
        ({**META, "user_id": f"7{space}1"}, {"wiki_page_id": "1"}, "metadata.user_id"),
        (META, {"wiki_page_id": f"7{space}1"}, "body.wiki_page_id"),
    ):
        with pytest.raises(MappingError) as info:
            T.transform(orjson.dumps({"metadata": meta, "body": body}))
        assert info.value.stage == "map" and field in info.value.reason


def test_bad_hostname_is_a_map_error() -> None:
    with pytest.raises(MappingError) as info:
        T.transform(orjson.dumps({"metadata": {**META, "hostname": "evil host/"}, "body": BODY}))
    assert info.value.field == "metadata.hostname"


def test_input_is_not_modified() -> None:
    wrapped = {"metadata": dict(META), "body": dict(BODY)}
    before = json.dumps(wrapped, sort_keys=True)
    T.transform_obj(wrapped)
    Transformer(strict=True).transform_obj(wrapped)
    assert json.dumps(wrapped, sort_keys=True) == before


@pytest.mark.parametrize("raw", [None, 42, 10**15, "\ud800", object()])
def test_non_bytes_input_is_a_decode_error(raw) -> None:
    with pytest.raises(MappingError) as info:
        T.transform(raw)
    assert info.value.stage == "decode"


def test_str_bytearray_and_memoryview_inputs_map_like_bytes() -> None:
    raw = orjson.dumps({"metadata": META, "body": BODY})
    expected = T.transform(raw).event["id"]
    for variant in (raw.decode(), bytearray(raw), memoryview(raw)):
        assert T.transform(variant).event["id"] == expected
