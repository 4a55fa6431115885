"""`make demo`: the whole path on a local broker in a few seconds, with a summary at the end.

Creates a fresh set of topics (prefix `caliper-demo-<time>`, so it can be rerun; topics of earlier
demo runs are deleted first), produces the bundled Canvas samples (every mapped event type, each
repeated with its own request id) plus unmapped and malformed inputs, runs the worker until the
input is drained, then prints where everything went, read back from the broker.

    python -m processor.demo [--repeat N] [--partitions N] [--keep-old]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
import uuid
from importlib import resources

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from processor import logs
from processor.config import PROFILES, Config, load
from processor.health import HttpServer
from processor.metrics import sample_value, sum_samples
from processor.topics import create_topics
from processor.worker import Worker

PREFIX = "caliper-demo-"


def demo_inputs(repeat: int) -> list[tuple[bytes | None, bytes]]:
    """(key, value): the samples `repeat` times (distinct request ids), then the awkward cases."""
    samples = resources.files("mappings").joinpath("samples/canvas_events.jsonl").read_bytes().splitlines()
    awkward = resources.files("processor").joinpath("demo_samples.jsonl").read_bytes().splitlines()
    out: list[tuple[bytes | None, bytes]] = []
    for r in range(repeat):
        for i, line in enumerate(s for s in samples if s.strip()):
            obj = orjson.loads(line)
            if r and isinstance(obj.get("metadata"), dict):
                obj["metadata"]["request_id"] = f"demo-{r:04d}-{i:03d}"
            out.append((None, orjson.dumps(obj)))
    out += [(b"awkward", line.strip()) for line in awkward if line.strip()]
    out.append((b"awkward", b"\x00\x01 not JSON at all \xff"))
    return out


def _delete_old_demo_topics(admin: AdminClient) -> int:
    old = [t for t in admin.list_topics(timeout=10).topics if t.startswith(PREFIX)]
    if old:
        for fut in admin.delete_topics(old, operation_timeout=30).values():
            with contextlib.suppress(Exception):
                fut.result(30)
    return len(old)


def _count(consumer: Consumer, topic: str) -> int:
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    n = 0
    for p in meta.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        n += high - low
    return n


def _first(consumer: Consumer, topic: str) -> bytes | None:
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            return msg.value()
    return None


def run_demo(bootstrap: str, *, repeat: int = 50, partitions: int = 3, keep_old: bool = False) -> int:
    run_id = f"{PREFIX}{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:4]}"
    cfg: Config = load(
        None,
        env={
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CALIPER_INPUT_TOPIC": f"{run_id}.canvas.live-events",
            "CALIPER_OUTPUT_TOPIC_TEMPLATE": f"{run_id}.caliper.{{profile}}",
            "CALIPER_DLQ_TOPIC": f"{run_id}.canvas.live-events.dlq",
            "CALIPER_UNMAPPED_TOPIC": f"{run_id}.canvas.live-events.unmapped",
            "CALIPER_GROUP_ID": run_id,
            "CALIPER_METRICS_PORT": os.environ.get("CALIPER_METRICS_PORT", "0"),
            "CALIPER_HTTP_HOST": "127.0.0.1",
        },
    )
    admin = AdminClient({"bootstrap.servers": bootstrap})
    if not keep_old:
        dropped = _delete_old_demo_topics(admin)
        if dropped:
            print(f"deleted {dropped} topics of earlier demo runs")
    failed = [r for r in create_topics(cfg, partitions=partitions) if r.status == "error"]
    if failed:
        print(f"cannot create topics: {failed[0].topic}: {failed[0].detail}", file=sys.stderr)
        return 1
    print(f"topics: {cfg.topics['input']} -> {cfg.topics['output_template']} (+ .dlq, .unmapped)")

    inputs = demo_inputs(repeat)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for key, value in inputs:
        while True:
            try:
                producer.produce(cfg.topics["input"], value, key)
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(30)
    print(f"produced {len(inputs)} Canvas live events ({repeat} x the bundled samples + malformed/unmapped)")

    worker = Worker(cfg, exit_when_drained=True)
    http = HttpServer.from_settings(cfg.http, worker.metrics.render, worker.health).start()
    print(f"worker running; metrics at {http.url}/metrics, health at {http.url}/healthz and /readyz")
    try:
        status = worker.run()
    finally:
        http.stop()
    elapsed = worker.busy_seconds()
    if status != 0:
        print(f"worker exited with status {status}", file=sys.stderr)
        return status

    m = worker.metrics
    reader = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"{run_id}-reader", "enable.auto.commit": False}
    )
    rows: list[tuple[str, str, int]] = []
    for profile in PROFILES:
        topic = cfg.output_topic(profile)
        rows.append((f"envelopes: {profile}", topic, _count(reader, topic)))
    rows.append(("dead letters", cfg.topics["dlq"], _count(reader, cfg.topics["dlq"])))
    rows.append(("unmapped", cfg.topics["unmapped"], _count(reader, cfg.topics["unmapped"])))
    consumed = int(sample_value(m, "caliper_inputs_consumed_total"))
    width = max(len(r[1]) for r in rows)
    print()
    print(f"  {'inputs consumed':<22} {cfg.topics['input']:<{width}} {consumed:>7}")
    for label, topic, n in rows:
        print(f"  {label:<22} {topic:<{width}} {n:>7}")
    produced = int(sum_samples(m, "caliper_envelopes_produced_total"))
    dead = int(sum_samples(m, "caliper_dead_letters_total"))
    unmapped = int(sum_samples(m, "caliper_unmapped_total"))
    skipped = int(sum_samples(m, "caliper_skipped_total"))
    stages = {
        s: int(sample_value(m, "caliper_dead_letters_total", {"stage": s}))
        for s in ("decode", "unwrap", "map", "validate", "serialize", "size")
    }
    print(f"  dead letters by stage: {', '.join(f'{k} {v}' for k, v in stages.items() if v) or 'none'}")
    balanced = "balanced" if consumed == produced + dead + unmapped + skipped else "NOT BALANCED"
    print(
        f"  consumed {consumed} = envelopes {produced} + dead letters {dead} + unmapped {unmapped}"
        f" + skipped {skipped}: {balanced}"
    )
    print(
        f"  throughput: {consumed} inputs in {elapsed:.2f}s = {consumed / max(elapsed, 1e-9):,.0f} inputs/s"
    )
    sample_topic = cfg.output_topic("session")
    value = _first(reader, sample_topic)
    reader.close()
    if value:
        print(f"\none envelope from {sample_topic}:")
        print(orjson.dumps(orjson.loads(value), option=orjson.OPT_INDENT_2).decode())
    print(
        "\nmetrics were served on a free port while the demo ran; `make run` serves them at "
        "http://127.0.0.1:9464/metrics (/healthz, /readyz)."
    )
    print(f"the demo topics ({run_id}.*) stay on the broker for inspection; the next demo deletes them.")
    return 0 if balanced == "balanced" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m processor.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="copies of the bundled samples (50)")
    parser.add_argument("--partitions", type=int, default=3, help="partitions per demo topic (3)")
    parser.add_argument("--keep-old", action="store_true", help="keep the topics of earlier demo runs")
    args = parser.parse_args(argv)
    logs.setup("text", os.environ.get("CALIPER_LOGGING_LEVEL", "WARNING"))
    logging.getLogger("processor").setLevel(os.environ.get("CALIPER_LOGGING_LEVEL", "WARNING"))
    # A fresh broker answers the first requests with transient "load in progress" retries: not news here.
    logging.getLogger("processor.kafka").setLevel(os.environ.get("CALIPER_LOGGING_LEVEL", "ERROR"))
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:9092"
    return run_demo(bootstrap, repeat=args.repeat, partitions=args.partitions, keep_old=args.keep_old)


if __name__ == "__main__":
    sys.exit(main())
