"""The receiver with its broker gone: 503 while Kafka cannot acknowledge, 2xx once it is back, nothing
lost, and nothing duplicated beyond what the retries explain (a 503'd event stays queued in the
idempotent producer and may land as well as its retry, as Canvas would retry it)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections import Counter

import orjson
import pytest

from tests.faults.harness import FaultBroker, port_open
from tests.ingest.support import event, post, read_all, start_ingest

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
ACK_TIMEOUT_S = 3


@pytest.fixture
def own_broker(tmp_path_factory):
    if shutil.which("java") is None:
        pytest.skip("the broker needs Java 17+ (java not on PATH)")
    base = int(os.environ.get("KAFKA_PORT", "9092")) + 200
    if any(port_open(p) for p in range(base, base + 4)):
        pytest.fail(f"ports {base}-{base + 3} are taken; set KAFKA_PORT so that KAFKA_PORT+200.. are free")
    state = tmp_path_factory.mktemp("ingest-broker")
    broker = FaultBroker(port=base, state=state / "kafka", log=state / "kafka-sh.log")
    broker.up()
    try:
        yield broker
    finally:
        broker.down()


def test_503_while_the_broker_is_away_then_2xx_and_nothing_lost(own_broker, tmp_path) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"test-ingest-down-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap})
    for f in admin.create_topics([NewTopic(topic, 2, 1)], operation_timeout=30).values():
        f.result(30)
    ing = start_ingest(
        own_broker.bootstrap,
        topic,
        tmp_path / "ingest.log",
        require_signature="false",
        ack_timeout_s=str(ACK_TIMEOUT_S),
    )
    mark = uuid.uuid4().hex
    attempts: Counter[int] = Counter()
    accepted: set[int] = set()

    def deliver(i: int) -> int:
        attempts[i] += 1
        status, _ = post(ing.url, orjson.dumps(event(redirect_url=f"https://x/{mark}/{i}")), timeout=20)
        if status == 200:
            accepted.add(i)
        return status

    try:
        assert [deliver(i) for i in range(5)] == [200] * 5
        own_broker.kill()
        t0 = time.monotonic()
        down = [deliver(i) for i in range(5, 8)]
        answer_s = (time.monotonic() - t0) / 3
        assert down == [503] * 3, down
        assert answer_s <= ACK_TIMEOUT_S + 2  # within the ack limit, well below Canvas's 15 s
        own_broker.start()
        # Canvas retries: the same events again until 2xx
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not {5, 6, 7} <= accepted:
            for i in (5, 6, 7):
                if i not in accepted:
                    deliver(i)
            time.sleep(1)
        assert {5, 6, 7} <= accepted
        assert [deliver(i) for i in range(8, 11)] == [200] * 3
        assert ing.count(503, "ack_timeout") + ing.count(503, "kafka_unavailable") >= 3
    finally:
        assert ing.stop() == 0
    landed = Counter(
        int(orjson.loads(r.value)["body"]["redirect_url"].rsplit("/", 1)[1])
        for r in read_all(own_broker.bootstrap, topic)
        if mark.encode() in r.value
    )
    assert set(landed) == set(range(11))  # nothing lost
    for i, n in landed.items():
        assert n <= attempts[i], (i, n, attempts[i])  # duplicates only where a retry explains them
    figures = f"503 in {answer_s:.1f} s; landed {dict(landed)}; tries {dict(attempts)}"
    print(f"INGEST-FIGURES broker down: {figures}")
