"""The load generator: templates keep ids consistent, the mix and sizes are realistic, output maps."""

from __future__ import annotations

import collections
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from bench.generator import EventGenerator
from bench.templates import COURSE, REQUEST, TIME, USER, build_template, build_templates, load_samples

SAMPLES = Path(__file__).with_name("canvas_sample_events.jsonl")


@pytest.fixture(scope="module")
def templates():
    return build_templates(load_samples(SAMPLES))


@pytest.fixture(scope="module")
def events(templates):
    return list(EventGenerator(templates, seed=7).events(20_000))


def test_user_id_slot_changes_metadata_and_body_together():
    sample = {
        "metadata": {
            "event_name": "grade_change",
            "user_id": "555",
            "context_id": "777",
            "context_type": "Course",
        },
        "body": {"student_id": "555", "grader_id": "999", "score": 9.5, "note": "100% done"},
    }
    template = build_template(sample)
    assert template.event_name == "grade_change"
    values = {slot: b"1" for slot in template.slots}
    values.update({USER: b"4242", COURSE: b"31", REQUEST: b"req-1"})
    values["object:grader_id"] = b"8080"
    event = orjson.loads(template.render(values))
    assert event["metadata"]["user_id"] == "4242"
    assert event["body"]["student_id"] == "4242"
    assert event["metadata"]["context_id"] == "31"
    assert event["body"]["grader_id"] == "8080"
    assert event["body"]["note"] == "100% done"  # a literal % survives the %-formatting
    assert event["body"]["score"] == 9.5
    assert event["metadata"]["request_id"] == "req-1"  # added when the sample has none


def test_template_rejects_a_sample_without_wrapper():
    with pytest.raises(ValueError, match="metadata"):
        build_template({"event_name": "asset_accessed"})


def test_same_seed_same_events_other_seed_other_events(templates):
    a = [e.value for e in EventGenerator(templates, seed=11).events(500)]
    b = [e.value for e in EventGenerator(templates, seed=11).events(500)]
    c = [e.value for e in EventGenerator(templates, seed=12).events(500)]
    assert a == b
    assert a != c


def test_every_event_is_distinct_json_keyed_by_its_user(events):
    assert len({e.value for e in events}) == len(events)
    for e in events[:2000]:
        obj = orjson.loads(e.value)
        assert obj["metadata"]["event_name"] == e.event_name
        assert obj["metadata"]["user_id"].encode() == e.key


def test_mix_is_dominated_by_page_views(events):
    counts = collections.Counter(e.event_name for e in events)
    # The fixture has 4 event names, weighted 70, 4, 4 and 3.5 by the Canvas mix.
    assert counts["asset_accessed"] / len(events) == pytest.approx(70 / 81.5, abs=0.01)
    assert counts["grade_change"] / len(events) == pytest.approx(3.5 / 81.5, abs=0.005)


def test_page_views_are_one_to_two_kilobytes(events):
    sizes = [len(e.value) for e in events if e.event_name == "asset_accessed"]
    assert min(sizes) >= 1000
    assert max(sizes) <= 2100
    assert max(sizes) - min(sizes) > 500  # varied, not one size


def test_many_users_and_courses_and_a_spread_of_times(events):
    metas = [orjson.loads(e.value)["metadata"] for e in events]
    assert len({m["user_id"] for m in metas}) > 5000
    assert len({m["context_id"] for m in metas if "context_id" in m}) > 500
    times = [datetime.fromisoformat(m["event_time"].replace("Z", "+00:00")) for m in metas]
    assert (max(times) - min(times)).total_seconds() > 8 * 3600
    assert {t.day for t in times} == set(range(1, 32)), "every day of a 31-day month, month end included"
    assert all(m["event_time"].endswith("Z") and len(m["event_time"]) == 24 for m in metas[:100])


def test_timestamps_slot_is_iso_with_milliseconds(templates):
    assert TIME in templates["asset_accessed"].slots


def test_generated_events_from_bundled_samples_all_map():
    from mappings.transform import Transformer

    templates = build_templates(load_samples())
    assert len(templates) >= 30  # one sample per mapped event name
    transformer = Transformer()
    names = collections.Counter()
    for event in EventGenerator(templates, seed=3).events(3000):
        out = transformer.transform(event.value)
        names[out.event_name] += 1
        assert out.envelope["data"][0]["id"].startswith("urn:uuid:")
    assert names.most_common(1)[0][0] == "asset_accessed"
    assert len(names) > 15
