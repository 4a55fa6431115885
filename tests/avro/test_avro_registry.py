"""The worker and a real Schema Registry (Apicurio's Confluent-compatible API): registering, looking up,
subject strategies, evolution and refusal, the schema id cached, and a registry that is down at start.

Expected values come from the registry itself (its REST API and its own request metrics), read here
with plain HTTP, never from the project's registry client.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from processor.avro.codec import from_record
from processor.avro.schema import load_schema
from processor.config import load
from processor.worker import Worker
from tests.conftest import REGISTRY_SH
from tests.worker.conftest import PROFILES, produce, read_all, sample_events, scrape, wait_for

pytestmark = pytest.mark.kafka

ENVELOPE = "org.caliperprocessor.caliper.v1p1.Envelope"  # the record's full name, written out here
EXIT_BOUND_S = 60


# ---- the registry, over plain HTTP ------------------------------------------------------------


def _http(method: str, url: str, body: object | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/vnd.schemaregistry.v1+json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _q(subject: str) -> str:
    return urllib.parse.quote(subject, safe="")


def latest_id(url: str, subject: str) -> int:
    status, body = _http("GET", f"{url}/subjects/{_q(subject)}/versions/latest")
    assert status == 200, (subject, status, body)
    return int(body["id"])


def versions(url: str, subject: str) -> list[int]:
    status, body = _http("GET", f"{url}/subjects/{_q(subject)}/versions")
    return list(body) if status == 200 else []


def subjects(url: str) -> list[str]:
    return list(_http("GET", f"{url}/subjects")[1])


def register(url: str, subject: str, schema: dict | str) -> tuple[int, object]:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return _http("POST", f"{url}/subjects/{_q(subject)}/versions", {"schema": text})


def set_compatibility(url: str, subject: str, level: str) -> None:
    status, body = _http("PUT", f"{url}/config/{_q(subject)}", {"compatibility": level})
    assert status == 200, body
    assert _http("GET", f"{url}/config/{_q(subject)}")[1]["compatibilityLevel"] == level


def registry_requests(url: str) -> int:
    """API requests the registry has served, from its own Prometheus metrics (/metrics)."""
    base = url.split("/apis/", 1)[0]
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    count = 0.0
    for line in text.splitlines():
        if line.startswith("rest_requests_seconds_count{") and 'path="/apis/ccompat/' in line:
            count += float(line.rsplit(" ", 1)[1])
    return int(count)


# ---- schemas derived from ours ------------------------------------------------------------------


def ours() -> dict:
    return load_schema()


def with_field(schema: dict, field: dict) -> dict:
    out = json.loads(json.dumps(schema))
    out["fields"].append(field)
    return out


def with_type(schema: dict, name: str, type_: object) -> dict:
    out = json.loads(json.dumps(schema))
    for f in out["fields"]:
        if f["name"] == name:
            f["type"] = type_
    return out


# ---- helpers -------------------------------------------------------------------------------------


def schema_ids(bootstrap: str, topics: list[str]) -> dict[str, set[int]]:
    """The schema ids carried by the records of each topic (Confluent wire format: 0, id, body)."""
    out: dict[str, set[int]] = {}
    for topic in topics:
        for r in read_all(bootstrap, topic):
            assert r.value[0] == 0
            out.setdefault(topic, set()).add(struct.unpack(">I", r.value[1:5])[0])
    return out


def run_drained(s, **env: str) -> Worker:
    worker = Worker(load(env=s.env(CALIPER_METRICS_PORT="0", **env)), exit_when_drained=True)
    assert worker.run() == 0
    return worker


def error_lines(log: Path) -> list[str]:
    return [ln for ln in log.read_text().splitlines() if ln.startswith("caliper-processor:")]


# ---- tests ---------------------------------------------------------------------------------------


def test_worker_registers_and_uses_the_registry_latest_id(stack, schema_registry_url) -> None:
    s = stack(partitions=1)
    produce(s.bootstrap, s.input, [(None, v, None) for v in sample_events()])
    run_drained(s, CALIPER_TOPICS_FORMAT="avro", CALIPER_SCHEMA_REGISTRY_URL=schema_registry_url)
    got = schema_ids(s.bootstrap, [s.output(p) for p in PROFILES])
    assert len(got) >= 5  # the samples reach most profiles
    for topic, ids in got.items():
        subject = f"{topic}-value"
        assert ids == {latest_id(schema_registry_url, subject)}
        assert versions(schema_registry_url, subject) == [1]
        status, body = _http("GET", f"{schema_registry_url}/schemas/ids/{ids.pop()}")
        assert status == 200 and json.loads(body["schema"]) == ours()


def test_compatible_evolution_is_accepted_under_backward(schema_registry_url) -> None:
    subject = f"evolve-{os.urandom(4).hex()}-value"
    status, v1 = register(schema_registry_url, subject, ours())
    assert status == 200, v1
    set_compatibility(schema_registry_url, subject, "BACKWARD")
    v2 = with_field(ours(), {"name": "campus", "type": ["null", "string"], "default": None})
    status, body = register(schema_registry_url, subject, v2)
    assert status == 200, body
    assert body["id"] != v1["id"]
    assert versions(schema_registry_url, subject) == [1, 2]
    assert latest_id(schema_registry_url, subject) == body["id"]


@pytest.mark.parametrize(
    "change, registry_says",
    [
        # a new field every old record lacks, with no default to fill it
        (lambda s: with_field(s, {"name": "campus", "type": "string"}), "campus"),
        # `data` from an array of events to a string: old records cannot be read
        (lambda s: with_type(s, "data", ["null", "string"]), "data"),
    ],
    ids=["required-field-without-default", "changed-type"],
)
def test_incompatible_evolution_is_refused(schema_registry_url, change, registry_says) -> None:
    subject = f"refuse-{os.urandom(4).hex()}-value"
    assert register(schema_registry_url, subject, ours())[0] == 200
    set_compatibility(schema_registry_url, subject, "BACKWARD")
    status, body = register(schema_registry_url, subject, change(ours()))
    assert status == 409, body
    assert versions(schema_registry_url, subject) == [1]


def test_worker_exits_2_naming_the_subject_when_its_schema_is_incompatible(
    stack, schema_registry_url, tmp_path
) -> None:
    s = stack(partitions=1)
    subject = f"{s.output('session')}-value"
    # The subject already holds a schema whose `data` is a string: ours cannot read those records.
    assert register(schema_registry_url, subject, with_type(ours(), "data", ["null", "string"]))[0] == 200
    set_compatibility(schema_registry_url, subject, "BACKWARD")
    log = tmp_path / "worker.log"
    proc, _ = s.start(log=log, CALIPER_TOPICS_FORMAT="avro", CALIPER_SCHEMA_REGISTRY_URL=schema_registry_url)
    assert proc.wait(EXIT_BOUND_S) == 2
    lines = error_lines(log)
    assert len(lines) == 1, log.read_text()[-3000:]
    assert subject in lines[0] and "incompatible" in lines[0]
    # the registry's own words on what breaks (Apicurio: "reader union lacking writer type: STRING")
    assert "reader union lacking writer type" in lines[0], lines[0]
    assert versions(schema_registry_url, subject) == [1]


def test_lookup_only_exits_2_when_the_schema_is_not_registered(stack, schema_registry_url, tmp_path) -> None:
    s = stack(partitions=1)
    log = tmp_path / "worker.log"
    proc, _ = s.start(
        log=log,
        CALIPER_TOPICS_FORMAT="avro",
        CALIPER_SCHEMA_REGISTRY_URL=schema_registry_url,
        CALIPER_SCHEMA_REGISTRY_AUTO_REGISTER="false",
    )
    assert proc.wait(EXIT_BOUND_S) == 2
    lines = error_lines(log)
    assert len(lines) == 1, log.read_text()[-3000:]
    assert "not registered" in lines[0] and "auto_register is off" in lines[0]
    assert f"{s.output('basic')}-value" in lines[0]
    # looking up registered nothing
    assert not [x for x in subjects(schema_registry_url) if x.startswith(s.template.split("{")[0])]


def printed_schema() -> str:
    """What `caliper-processor schema` prints: the text an operator registers by hand."""
    out = subprocess.run(
        [sys.executable, "-m", "processor", "schema"], check=True, capture_output=True, text=True
    )
    assert json.loads(out.stdout) == ours()
    return out.stdout


def test_lookup_only_uses_the_id_of_the_schema_registered_by_hand(stack, schema_registry_url) -> None:
    s = stack(partitions=1)
    text = printed_schema()  # pretty-printed: not the worker's compact text, the same schema
    registered = {}
    for p in PROFILES:
        status, body = register(schema_registry_url, f"{s.output(p)}-value", text)
        assert status == 200, body
        registered[s.output(p)] = body["id"]
    produce(s.bootstrap, s.input, [(None, v, None) for v in sample_events()])
    run_drained(
        s,
        CALIPER_TOPICS_FORMAT="avro",
        CALIPER_SCHEMA_REGISTRY_URL=schema_registry_url,
        CALIPER_SCHEMA_REGISTRY_AUTO_REGISTER="false",
    )
    got = schema_ids(s.bootstrap, [s.output(p) for p in PROFILES])
    assert got and all(ids == {registered[t]} for t, ids in got.items())
    assert all(versions(schema_registry_url, f"{t}-value") == [1] for t in registered)


def test_auto_register_adds_no_version_for_the_same_schema_in_another_form(
    stack, schema_registry_url
) -> None:
    s = stack(partitions=1)
    subject = f"{s.output('session')}-value"
    status, body = register(schema_registry_url, subject, printed_schema())
    assert status == 200, body
    produce(s.bootstrap, s.input, [(None, v, None) for v in sample_events()])
    run_drained(s, CALIPER_TOPICS_FORMAT="avro", CALIPER_SCHEMA_REGISTRY_URL=schema_registry_url)
    assert versions(schema_registry_url, subject) == [1]
    assert schema_ids(s.bootstrap, [s.output("session")]) == {s.output("session"): {body["id"]}}


def test_record_name_strategy_uses_one_subject_for_every_topic(stack, schema_registry_url) -> None:
    s = stack(partitions=1)
    produce(s.bootstrap, s.input, [(None, v, None) for v in sample_events()])
    run_drained(
        s,
        CALIPER_TOPICS_FORMAT="avro",
        CALIPER_SCHEMA_REGISTRY_URL=schema_registry_url,
        CALIPER_SCHEMA_REGISTRY_SUBJECT_NAME_STRATEGY="record",
    )
    got = schema_ids(s.bootstrap, [s.output(p) for p in PROFILES])
    assert len(got) >= 5
    assert set().union(*got.values()) == {latest_id(schema_registry_url, ENVELOPE)}
    names = subjects(schema_registry_url)
    assert ENVELOPE in names
    assert not [x for x in names if x.startswith(s.template.split("{")[0])]


def test_schema_ids_are_cached_not_fetched_per_record(stack, schema_registry_url) -> None:
    s = stack(partitions=2)
    events = sample_events()
    inputs = [events[i % len(events)] for i in range(2000)]
    produce(s.bootstrap, s.input, [(None, v, None) for v in inputs])
    before = registry_requests(schema_registry_url)
    worker = run_drained(s, CALIPER_TOPICS_FORMAT="avro", CALIPER_SCHEMA_REGISTRY_URL=schema_registry_url)
    served = registry_requests(schema_registry_url) - before
    produced = sum(len(read_all(s.bootstrap, s.output(p))) for p in PROFILES)
    assert produced >= 1900  # nearly every input maps to an envelope
    # one registration per output topic's subject at start-up, none per record
    assert served == len(PROFILES), served
    assert worker.serializer.registry_calls == len(PROFILES)


# ---- the registry down at start, then up ----------------------------------------------------------


@pytest.fixture
def late_registry() -> Iterator[tuple[str, dict[str, str]]]:
    """A second registry's URL and the environment that starts it (on SCHEMA_REGISTRY_PORT + 2);
    not started here: the test starts it once the worker waits. Stopped at the end."""
    port = int(os.environ.get("SCHEMA_REGISTRY_PORT", "8081")) + 2
    env = {**os.environ, "SCHEMA_REGISTRY_PORT": str(port)}
    url = f"http://127.0.0.1:{port}/apis/ccompat/v7"
    try:
        urllib.request.urlopen(f"{url}/subjects", timeout=2)
        pytest.skip(f"something already answers on port {port}")
    except OSError:
        pass
    try:
        yield url, env
    finally:
        subprocess.run([str(REGISTRY_SH), "down"], env=env, check=False, timeout=120)


def test_registry_down_at_start_then_up(stack, late_registry, tmp_path) -> None:
    url, registry_env = late_registry
    s = stack(partitions=1)
    log = tmp_path / "worker.log"
    proc, port = s.start(
        log=log,
        CALIPER_TOPICS_FORMAT="avro",
        CALIPER_SCHEMA_REGISTRY_URL=url,
        CALIPER_SCHEMA_REGISTRY_RETRY_BACKOFF_MAX_S="2",
    )

    def waiting_reason() -> str | None:
        try:
            status, body = scrape(port, "/readyz")
        except OSError:
            return None
        return body if status == 503 and "schema registry" in body else None

    reason = wait_for(waiting_reason, 60, "/readyz to say the worker waits for the registry")
    assert "unreachable" in reason and url in reason

    def retries() -> list[dict]:
        lines = [json.loads(ln) for ln in log.read_text().splitlines() if ln.startswith("{")]
        return [ln for ln in lines if "schema registry unreachable" in ln.get("msg", "")]

    waits = wait_for(lambda: len(retries()) >= 3 and retries(), 30, "three retry lines")
    delays = [w["retry_in_s"] for w in waits[:3]]
    assert delays == sorted(delays) and delays[0] < delays[2], delays  # backing off
    assert proc.poll() is None

    up = [str(REGISTRY_SH), "up"]
    subprocess.run(up, env=registry_env, check=True, timeout=300, stdout=subprocess.PIPE)
    wait_for(lambda: scrape(port, "/readyz")[0] == 200, 60, "the worker to become ready")
    events = sample_events()
    produce(s.bootstrap, s.input, [(None, v, None) for v in events])
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": url}))
    topic = s.output("session")

    def session_records() -> list:
        try:
            return read_all(s.bootstrap, topic)
        except AssertionError:
            return []

    records = wait_for(session_records, 60, "session envelopes")
    for r in records:
        envelope = from_record(deserialize(r.value, SerializationContext(topic, MessageField.VALUE)))
        assert envelope["data"][0]["type"] == "SessionEvent"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_waiting_for_the_registry_stays_healthy_and_sigterm_exits_0(stack, late_registry, tmp_path) -> None:
    url, _ = late_registry  # never started: the worker only ever waits
    s = stack(partitions=1)
    log = tmp_path / "worker.log"
    proc, port = s.start(
        log=log,
        CALIPER_TOPICS_FORMAT="avro",
        CALIPER_SCHEMA_REGISTRY_URL=url,
        CALIPER_SCHEMA_REGISTRY_RETRY_BACKOFF_MAX_S="1",
        CALIPER_HTTP_HEALTH_STALL_S="2",
    )

    def waiting() -> bool:
        try:
            return scrape(port, "/readyz")[0] == 503 and "schema registry" in scrape(port, "/readyz")[1]
        except OSError:
            return False

    wait_for(waiting, 60, "the worker to wait for the registry")
    time.sleep(4)  # twice health_stall_s: waiting is not a stalled loop
    assert scrape(port, "/healthz")[0] == 200, scrape(port, "/healthz")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(EXIT_BOUND_S) == 0, log.read_text()[-2000:]
    assert not error_lines(log)
