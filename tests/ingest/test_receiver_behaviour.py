"""The receiver beyond signatures: the shared secret, TLS, a key published after start, many concurrent
POSTs, graceful shutdown with requests in flight, and a signed POST becoming a Caliper envelope on its
profile topic through the worker. Real receiver processes, a real JWKS server, the session broker."""

from __future__ import annotations

import asyncio
import datetime
import signal
import threading
import time
import uuid
from pathlib import Path

import orjson
import pytest

from tests.ingest.support import (
    ISSUER,
    URN_USER,
    JwksServer,
    claims_for,
    event,
    make_key,
    post,
    read_all,
    start_ingest,
)

pytestmark = pytest.mark.kafka


def _marked(bootstrap: str, topic: str, mark: str) -> list:
    return [r for r in read_all(bootstrap, topic) if mark.encode() in (r.value or b"")]


def test_the_shared_secret_in_the_query_or_a_header(kafka_bootstrap, module_topic, tmp_path) -> None:
    topic = module_topic("ingest-secret")
    secret = f"s3cret-{uuid.uuid4().hex}"
    ing = start_ingest(
        kafka_bootstrap, topic, tmp_path / "ingest.log", require_signature="false", secret=secret
    )
    try:
        mark = uuid.uuid4().hex
        body = orjson.dumps(event(redirect_url=f"https://x/{mark}"))
        assert post(ing.url, body)[0] == 401  # missing
        assert post(f"{ing.url}?secret=wrong-{secret}", body)[0] == 401  # wrong, same prefix
        assert post(ing.url, body, {"X-Caliper-Secret": secret[:-1]})[0] == 401  # one character short
        assert post(f"{ing.url}?secret={secret}", body)[0] == 200
        assert post(ing.url, body, {"X-Caliper-Secret": secret})[0] == 200
        assert ing.count(401, "wrong_secret") == 3
        assert len(_marked(kafka_bootstrap, topic, mark)) == 2
        assert secret not in ing.log.read_text()  # never logged, not even the wrong ones' prefix
    finally:
        assert ing.stop() == 0


def _self_signed(tmp_path: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


def test_tls_serves_https_only(kafka_bootstrap, module_topic, tmp_path) -> None:
    import ssl
    import urllib.request

    topic = module_topic("ingest-tls")
    cert, key = _self_signed(tmp_path)
    ing = start_ingest(
        kafka_bootstrap, topic, tmp_path / "ingest.log", require_signature="false", tls_cert=cert, tls_key=key
    )
    try:
        assert ing.url.startswith("https://")
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False  # the certificate names 127.0.0.1 as CN only
        mark = uuid.uuid4().hex
        status, answer = post(ing.url, orjson.dumps(event(redirect_url=f"https://x/{mark}")), context=ctx)
        assert status == 200, answer
        assert len(_marked(kafka_bootstrap, topic, mark)) == 1
        with pytest.raises(OSError):  # plain HTTP on the TLS port gets no HTTP answer
            urllib.request.urlopen(f"http://127.0.0.1:{ing.port}/healthz", timeout=5)
    finally:
        assert ing.stop() == 0


def test_a_key_published_after_start_is_fetched_when_a_token_names_it(
    kafka_bootstrap, module_topic, tmp_path
) -> None:
    topic = module_topic("ingest-rotation")
    cur, new = make_key(f"cur-{uuid.uuid4().hex[:6]}"), make_key(f"new-{uuid.uuid4().hex[:6]}")
    jwks = JwksServer()
    jwks.publish(cur)
    ing = start_ingest(
        kafka_bootstrap,
        topic,
        tmp_path / "ingest.log",
        jwks_url=jwks.url,
        issuer=ISSUER,
        jwks_refresh_min_interval_s="1",
    )
    try:
        mark = uuid.uuid4().hex
        assert post(ing.url, new.sign(claims_for(event(redirect_url=f"https://x/{mark}/1"))))[0] == 401
        jwks.publish(cur, new)  # the monthly rotation: the next key appears in the JWKS
        time.sleep(1.2)  # past the refresh rate limit
        status, answer = post(ing.url, new.sign(claims_for(event(redirect_url=f"https://x/{mark}/2"))))
        assert status == 200, answer
        assert post(ing.url, cur.sign(claims_for(event(redirect_url=f"https://x/{mark}/3"))))[0] == 200
        assert len(_marked(kafka_bootstrap, topic, mark)) == 2
    finally:
        assert ing.stop() == 0
        jwks.close()


async def _post_many(url: str, bodies: list[bytes], in_flight: int) -> list[int]:
    import aiohttp

    sem = asyncio.Semaphore(in_flight)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def one(body: bytes) -> int:
            async with sem, session.post(url, data=body) as r:
                await r.read()
                return r.status

        return await asyncio.gather(*(one(b) for b in bodies))


def test_many_concurrent_posts_each_land_once(kafka_bootstrap, module_topic, tmp_path) -> None:
    topic = module_topic("ingest-concurrent")
    ing = start_ingest(kafka_bootstrap, topic, tmp_path / "ingest.log", require_signature="false")
    try:
        mark = uuid.uuid4().hex
        n = 2000
        bodies = [orjson.dumps(event(redirect_url=f"https://x/{mark}/{i:05d}")) for i in range(n)]
        t0 = time.monotonic()
        codes = asyncio.run(_post_many(ing.url, bodies, 100))
        took = time.monotonic() - t0
        assert codes == [200] * n
        seen = [
            orjson.loads(r.value)["body"]["redirect_url"].rsplit("/", 1)[1]
            for r in _marked(kafka_bootstrap, topic, mark)
        ]
        assert sorted(seen) == [f"{i:05d}" for i in range(n)]  # every one, exactly once
        print(f"INGEST-FIGURES concurrent: {n} POSTs, 100 in flight, {n / took:,.0f}/s")
    finally:
        assert ing.stop() == 0


def test_sigterm_finishes_requests_in_flight_and_exits_0(kafka_bootstrap, module_topic, tmp_path) -> None:
    topic = module_topic("ingest-shutdown")
    ing = start_ingest(kafka_bootstrap, topic, tmp_path / "ingest.log", require_signature="false")
    mark = uuid.uuid4().hex
    bodies = [orjson.dumps(event(redirect_url=f"https://x/{mark}/{i:04d}")) for i in range(600)]
    results: list = []

    def fire() -> None:
        async def go() -> list:
            import aiohttp

            out = []
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

                async def one(i: int, body: bytes):
                    try:
                        async with session.post(ing.url, data=body) as r:
                            await r.read()
                            return i, r.status
                    except aiohttp.ClientError as exc:  # refused once the server stopped accepting
                        return i, type(exc).__name__

                for chunk in range(0, len(bodies), 50):
                    out += await asyncio.gather(*(one(i, bodies[i]) for i in range(chunk, chunk + 50)))
            return out

        results.extend(asyncio.run(go()))

    t = threading.Thread(target=fire)
    t.start()
    time.sleep(0.3)
    ing.proc.send_signal(signal.SIGTERM)
    t.join(90)
    rc = ing.proc.wait(60)
    assert rc == 0, ing.log.read_text()[-3000:]
    accepted = {i for i, code in results if code == 200}
    assert accepted, "nothing was accepted before the shutdown: the test did not overlap it"
    # 200 before the stop; after it 503 shutting_down (documented, and Canvas retries it) while the
    # listener drains, or a refused connection once it is closed; nothing else
    assert all(code in (200, 503) or isinstance(code, str) for _, code in results), sorted(
        {str(c) for _, c in results}
    )
    on_topic = {
        int(orjson.loads(r.value)["body"]["redirect_url"].rsplit("/", 1)[1])
        for r in _marked(kafka_bootstrap, topic, mark)
    }
    assert accepted <= on_topic  # every 2xx answered is in Kafka: nothing acknowledged and lost


def test_a_signed_post_becomes_a_caliper_envelope_on_its_profile_topic(
    kafka_bootstrap, make_topic, jwks, signing_keys, tmp_path
) -> None:
    from processor.config import load
    from processor.worker import Worker
    from tests.worker.conftest import Stack

    uid = uuid.uuid4().hex[:8]
    s = Stack(
        bootstrap=kafka_bootstrap,
        uid=uid,
        input=make_topic(name=f"test-e2e-{uid}-in", partitions=1),
        template=f"test-e2e-{uid}-out-{{profile}}",
        dlq=make_topic(name=f"test-e2e-{uid}-dlq"),
        unmapped=make_topic(name=f"test-e2e-{uid}-unmapped"),
        group=f"test-e2e-{uid}-group",
        make_topic=make_topic,
    )
    s.create_outputs(partitions=1)
    ing = start_ingest(kafka_bootstrap, s.input, tmp_path / "ingest.log", jwks_url=jwks.url, issuer=ISSUER)
    try:
        user = "10000000000" + str(uuid.uuid4().int)[:3]
        ev = event("logged_in", user_id=user)
        status, answer = post(ing.url, signing_keys["cur"].sign(claims_for(ev)))
        assert status == 200, answer
    finally:
        assert ing.stop() == 0
    assert Worker(load(env=s.env(CALIPER_METRICS_PORT="0")), exit_when_drained=True).run() == 0
    envelopes = [orjson.loads(r.value) for r in read_all(kafka_bootstrap, s.output("session"))]
    assert len(envelopes) == 1
    caliper = envelopes[0]["data"][0]
    assert (caliper["type"], caliper["action"]) == ("SessionEvent", "LoggedIn")
    assert caliper["actor"]["id"] == URN_USER + user
