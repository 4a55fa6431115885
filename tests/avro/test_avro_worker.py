"""The worker writing Avro to a real broker with a real Schema Registry, read back by confluent-kafka's
own AvroDeserializer: each record is exactly the envelope `transform` gives for the same input."""

from __future__ import annotations

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from mappings.transform import Transformer
from processor.avro.codec import from_record
from processor.config import load
from processor.worker import Worker
from tests.worker.conftest import PROFILES, bad_samples, produce, sample_events

pytestmark = pytest.mark.kafka


def _records(bootstrap: str, topic: str) -> list:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "avro-reader", "enable.partition.eof": True})
    parts = [TopicPartition(topic, p, 0) for p in c.list_topics(topic, timeout=10).topics[topic].partitions]
    c.assign(parts)
    out, ended = [], set()
    while len(ended) < len(parts):
        for m in c.consume(500, 1.0):
            if m.error():
                ended.add(m.partition())
            else:
                out.append(m)
    c.close()
    return out


def test_worker_avro_output_reads_back_as_the_transform_envelopes(stack, schema_registry_url) -> None:
    s = stack(partitions=2)
    good = sample_events()
    produce(s.bootstrap, s.input, [(None, v, None) for v in [*good, *bad_samples()]])
    env = s.env(
        CALIPER_TOPICS_FORMAT="avro",
        CALIPER_SCHEMA_REGISTRY_URL=schema_registry_url,
        CALIPER_METRICS_PORT="0",
    )
    assert Worker(load(env=env), exit_when_drained=True).run() == 0

    expected = {}
    transformer = Transformer()
    for raw in good:
        env_ = orjson.loads(orjson.dumps(transformer.transform(raw).envelope))
        env_.pop("sendTime")  # the moment of sending, the one field that differs between runs
        expected[env_["data"][0]["id"]] = env_
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": schema_registry_url}))
    got = {}
    for p in PROFILES:
        topic = s.output(p)
        for m in _records(s.bootstrap, topic):
            assert m.value()[0] == 0  # Confluent wire format: magic byte, then a 4-byte schema id
            record = deserialize(m.value(), SerializationContext(topic, MessageField.VALUE))
            envelope = from_record(record)
            assert envelope.pop("sendTime")
            got[envelope["data"][0]["id"]] = envelope
    assert got == expected
    # dead letters keep the raw input bytes, not Avro
    dlq = [m.value() for m in _records(s.bootstrap, s.dlq)]
    assert dlq and all(v in bad_samples() for v in dlq)
