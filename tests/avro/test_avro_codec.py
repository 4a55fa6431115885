"""Envelope -> Avro -> envelope is exact: every bundled sample in both forms, and values that do not
fit their typed field (they travel in `other`). The bytes are read back by fastavro, not by our code."""

from __future__ import annotations

import io
import json
from importlib import resources

import fastavro
import orjson
import pytest

from mappings.transform import Transformer
from processor.avro import codec
from processor.avro.schema import build_schema, load_schema

SAMPLES = [
    line.encode()
    for line in (resources.files("mappings") / "samples" / "canvas_events.jsonl").read_text().splitlines()
    if line.strip()
]


def _json_view(envelope: dict) -> dict:
    """What the JSON output carries for this envelope."""
    return orjson.loads(orjson.dumps(envelope))


@pytest.mark.parametrize("strict", [False, True])
def test_every_sample_round_trips_exactly(strict: bool) -> None:
    transformer = Transformer(strict=strict)
    for raw in SAMPLES:
        envelope = transformer.transform(raw).envelope
        assert codec.decode(codec.encode(envelope)) == _json_view(envelope)


def test_samples_use_typed_fields_not_the_leftovers() -> None:
    envelope = Transformer().transform(SAMPLES[0]).envelope
    record = fastavro.schemaless_reader(io.BytesIO(codec.encode(envelope)), codec.parsed_schema())
    event = record["data"][0]
    assert record["other"] is None and event["other"] is None and event["actor"]["other"] is None
    assert event["actor"]["id"] == envelope["data"][0]["actor"]["id"]
    assert event["context"] == "http://purl.imsglobal.org/ctx/caliper/v1p1"


@pytest.mark.parametrize(
    "path, value",
    [
        (("object", "maxScore"), True),  # a bool is not a long
        (("object", "maxScore"), 2**64 - 1),  # beyond Avro's long
        (("object", "maxScore"), float("nan")),  # JSON writes null
        (("object", "maxScore"), 12.5),
        (("eventTime",), "2026-09-14T08:02:11Z"),  # not the canonical millisecond form
        (("eventTime",), "0000-01-01T00:00:00.000Z"),
        (("referrer",), {"id": "https://x.example/", "type": "WebPage"}),
        (("object", "name"), None),  # an explicit null stays an explicit null
        (("object", "unknownProperty"), [1, {"a": None}]),
        (("actor",), "urn:instructure:canvas:user:1"),  # an IRI instead of an object
        (("object", "isPartOf", "isPartOf", "isPartOf", "isPartOf"), {"id": "deep", "type": "Thing"}),
    ],
)
def test_values_that_do_not_fit_survive(path: tuple, value: object) -> None:
    envelope = Transformer().transform(SAMPLES[0]).envelope
    target = envelope["data"][0]
    for key in path[:-1]:
        target = target.setdefault(key, {"id": f"urn:x:{key}", "type": "Entity"})
    target[path[-1]] = value
    assert codec.decode(codec.encode(envelope)) == _json_view(envelope)


def test_shipped_schema_is_the_built_one() -> None:
    assert load_schema() == build_schema()
    fastavro.parse_schema(load_schema())


def test_schema_command_prints_the_schema(capsys) -> None:
    from processor.cli import main

    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == load_schema()
