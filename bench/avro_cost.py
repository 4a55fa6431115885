"""`python -m bench.avro_cost --registry URL`: per-record cost of the Avro serializers, side by side.

The same envelopes (the bench's generated mix, mapped once before any clock starts) go through:
- ours: `processor.avro.serializer.AvroSerializer` (the project's encoder, id cached at `prepare`);
- confluent-kafka's `confluent_kafka.schema_registry.avro.AvroSerializer` (fastavro underneath), fed
  the Avro record dicts it needs (decoded from our bytes beforehand, so its figure leaves out turning
  an envelope into such a dict: a lower bound for that path);
- fastavro's `schemaless_writer` alone on the same dicts, the floor of the confluent path;
- orjson, the JSON output, for scale.
Both serializers are checked to write the same bytes. Process CPU time, best of BENCH_REPEATS passes.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable

import fastavro
import orjson

from bench.generator import EventGenerator
from bench.templates import build_templates, load_samples
from mappings.transform import Transformer
from processor.avro import codec
from processor.avro.schema import schema_text
from processor.avro.serializer import AvroSerializer

TOPIC = "bench.avro-cost"


def _best_us(fn: Callable[[], None], records: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best / records * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registry", required=True, help="Schema Registry API URL")
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20260907)
    args = ap.parse_args(argv)

    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer as ConfluentAvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    transformer = Transformer()
    generator = EventGenerator(build_templates(load_samples()), args.seed)
    envelopes = []
    for event in generator.events(args.events):
        out = transformer.transform(event.value)
        if out.envelope is not None:
            envelopes.append(out.envelope)
    parsed = codec.parsed_schema()
    records = [fastavro.schemaless_reader(io.BytesIO(codec.encode(e)), parsed) for e in envelopes]

    ours = AvroSerializer({"url": args.registry})
    ours.prepare([TOPIC])
    theirs = ConfluentAvroSerializer(
        SchemaRegistryClient({"url": args.registry}), schema_text(), conf={"auto.register.schemas": True}
    )
    ctx = SerializationContext(TOPIC, MessageField.VALUE)
    pairs = zip(envelopes, records, strict=True)
    mismatched = sum(ours.serialize(TOPIC, e) != theirs(r, ctx) for e, r in pairs)

    def run_ours() -> None:
        serialize = ours.serialize
        for e in envelopes:
            serialize(TOPIC, e)

    def run_theirs() -> None:
        for r in records:
            theirs(r, ctx)

    def run_fastavro() -> None:
        for r in records:
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, parsed, r)

    def run_json() -> None:
        dumps = orjson.dumps
        for e in envelopes:
            dumps(e)

    n = len(envelopes)
    result = {
        "envelopes": n,
        "same_bytes": n - mismatched,
        "ours_us": round(_best_us(run_ours, n, args.repeats), 2),
        "confluent_us": round(_best_us(run_theirs, n, args.repeats), 2),
        "fastavro_writer_us": round(_best_us(run_fastavro, n, args.repeats), 2),
        "orjson_us": round(_best_us(run_json, n, args.repeats), 2),
        "avro_bytes_mean": round(sum(len(ours.serialize(TOPIC, e)) for e in envelopes) / n, 1),
        "json_bytes_mean": round(sum(len(orjson.dumps(e)) for e in envelopes) / n, 1),
    }
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
