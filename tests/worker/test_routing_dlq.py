"""Routing keys and topics, dead-letter headers, metric tallies (no broker)."""

from __future__ import annotations

from processor import dlq
from processor.config import load
from processor.metrics import Metrics, sample_value
from processor.routing import Router, routing_key


def test_key_is_the_person_actor_else_the_group_else_none() -> None:
    person = {"id": "urn:instructure:canvas:user:21070000000000101", "type": "Person"}
    course = {"id": "urn:instructure:canvas:course:21070000000000555", "type": "CourseOffering"}
    assert routing_key({"actor": person, "group": course}) == person["id"].encode()
    system = {"id": "urn:instructure:canvas:system", "type": "SoftwareApplication"}
    assert routing_key({"actor": system, "group": course}) == course["id"].encode()
    assert routing_key({"actor": system, "group": "urn:example:course:1"}) == b"urn:example:course:1"
    assert routing_key({"actor": system}) is None
    assert routing_key({"actor": {"type": "Person"}}) is None  # a Person without an id
    assert routing_key({}) is None


def test_topic_per_profile_with_profile_and_event_overrides(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[topics]\noutput_template = "lms.{profile}.v1"\n'
        '[topics.profiles]\ngrading = "grades"\n[topics.events]\nsubmission_created = "subs"\n'
    )
    router = Router(load(path, env={}))
    assert router.topic("session", "logged_in") == "lms.session.v1"
    assert router.topic("grading", "grade_change") == "grades"
    assert router.topic("assignable", "submission_created") == "subs"
    assert router.topic("custom", "plugin_event") == "lms.custom.v1"


def test_dead_letter_headers_keep_the_originals_and_name_the_error() -> None:
    original = [("traceparent", b"00-abc-01"), ("empty", None)]
    headers = dlq.error_headers(
        original,
        stage="decode",
        exc_class="mappings.errors.MappingError",
        message="input is not JSON: unexpected character",
        topic="canvas.live-events",
        partition=4,
        offset=1234,
        now_ms=1700000000123,
    )
    assert headers[:2] == [("traceparent", b"00-abc-01"), ("empty", b"")]
    assert dict(headers[2:]) == {
        "__connect.errors.stage": b"decode",
        "__connect.errors.exception.class.name": b"mappings.errors.MappingError",
        "__connect.errors.exception.message": b"input is not JSON: unexpected character",
        "__connect.errors.topic": b"canvas.live-events",
        "__connect.errors.partition": b"4",
        "__connect.errors.offset": b"1234",
        "__connect.errors.timestamp": b"1700000000123",
    }
    long = dlq.error_headers(
        None, stage="map", exc_class="X", message="x" * 10000, topic="t", partition=0, offset=0
    )
    assert len(dict(long)["__connect.errors.exception.message"]) == dlq.MAX_MESSAGE_BYTES


def test_unmapped_headers() -> None:
    h = dict(dlq.unmapped_headers(None, event_name="brand_new_event", topic="in", partition=1, offset=9))
    assert h["caliper.unmapped.event_name"] == b"brand_new_event"
    assert h["__connect.errors.offset"] == b"9"


def test_metric_names_and_unmapped_label_cap() -> None:
    m = Metrics(unmapped_names_max=2)
    m.add_batch(consumed=5, produced={"grading": 2}, dead={"decode": 1}, unmapped={"a": 1, "b": 1, "c": 1})
    assert sample_value(m, "caliper_inputs_consumed_total") == 5
    assert sample_value(m, "caliper_envelopes_produced_total", {"profile": "grading"}) == 2
    assert sample_value(m, "caliper_dead_letters_total", {"stage": "decode"}) == 1
    assert sample_value(m, "caliper_unmapped_total", {"event_name": "a"}) == 1
    assert sample_value(m, "caliper_unmapped_total", {"event_name": "other"}) == 1
    text = m.render().decode()
    for name in (
        "caliper_inputs_consumed_total",
        "caliper_envelopes_produced_total",
        "caliper_dead_letters_total",
        "caliper_unmapped_total",
        "caliper_mapping_duration_seconds_bucket",
        "caliper_end_to_end_lag_seconds_bucket",
        "caliper_rebalances_total",
        "caliper_in_flight_inputs",
        "caliper_producer_queue_depth",
        "caliper_produce_errors_total",
        "caliper_commits_total",
        "caliper_assigned_partitions",
        "caliper_last_progress_timestamp_seconds",
        "process_cpu_seconds_total",
        "python_info",
    ):
        assert name in text, name
