"""Signed deliveries against a real receiver, JWKS server and broker: what is accepted, what is refused.

One receiver serves the module (signature required, issuer checked, 8 KiB body limit); each test
sends its own events and reads them back from the input topic.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator

import orjson
import pytest

from tests.ingest.support import (
    ISSUER,
    URN_USER,
    IngestProcess,
    b64url,
    claims_for,
    event,
    post,
    read_all,
    start_ingest,
)


@pytest.fixture(scope="module")
def server(kafka_bootstrap, module_topic, jwks, tmp_path_factory) -> Iterator[IngestProcess]:
    topic = module_topic("ingest-signed")
    ing = start_ingest(
        kafka_bootstrap,
        topic,
        tmp_path_factory.mktemp("ingest") / "ingest.log",
        jwks_url=jwks.url,
        issuer=ISSUER,
        require_signature="true",
        leeway_s="60",
        max_body_bytes="8192",
        jwks_refresh_min_interval_s="600",
    )
    ing.extra["topic"] = topic
    ing.extra["bootstrap"] = kafka_bootstrap
    yield ing
    assert ing.stop() == 0


def records_with(server: IngestProcess, marker: str) -> list:
    """Records of the input topic whose value carries `marker` (each test marks its own events)."""
    return [
        r for r in read_all(server.extra["bootstrap"], server.extra["topic"]) if marker.encode() in r.value
    ]


def test_previous_current_and_next_keys_are_accepted_and_produced_after_ack(server, signing_keys) -> None:
    mark = uuid.uuid4().hex
    sent = {}
    for gen in ("prev", "cur", "next"):
        ev = event(
            "logged_in", user_id="10000000000417", redirect_url=f"https://canvas.example.edu/{mark}/{gen}"
        )
        status, answer = post(
            server.url, signing_keys[gen].sign(claims_for(ev)), {"X-Request-Id": f"req-{gen}-{mark}"}
        )
        assert status == 200, answer
        assert answer["status"] == "accepted"
        sent[gen] = ev
    records = records_with(server, mark)
    assert len(records) == 3
    for r in records:
        value = orjson.loads(r.value)
        gen = value["body"]["redirect_url"].rsplit("/", 1)[1]
        # the Kafka value is the event itself: the JWT's registered claims are not part of it
        assert value == sent[gen]
        assert not {"iss", "iat", "exp"} & set(value)
        # keyed as the worker keys the envelope: the Person actor's id
        assert r.key == (URN_USER + "10000000000417").encode()
        headers = dict(r.headers)
        assert headers["x-request-id"] == f"req-{gen}-{mark}".encode()
        assert headers["caliper.ingest.signed"] == b"true"
        assert headers["caliper.ingest.kid"] == signing_keys[gen].kid.encode()


def test_a_retired_key_and_an_unknown_kid_are_refused(server, signing_keys) -> None:
    mark = uuid.uuid4().hex
    ev = event(redirect_url=f"https://x/{mark}")
    before = server.count(401, "unknown_kid")
    assert post(server.url, signing_keys["retired"].sign(claims_for(ev)))[0] == 401
    status, answer = post(server.url, signing_keys["cur"].sign(claims_for(ev), kid="no-such-kid"))
    assert (status, answer["error"]) == (401, "unknown_kid")
    assert server.count(401, "unknown_kid") == before + 2
    assert records_with(server, mark) == []


def test_a_tampered_payload_is_refused(server, signing_keys) -> None:
    mark = uuid.uuid4().hex
    token = signing_keys["cur"].sign(
        claims_for(event(user_id="10000000000417", redirect_url=f"https://x/{mark}"))
    )
    head, payload, sig = token.split(b".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    claims["metadata"]["user_id"] = "10000000000666"  # someone else's events
    forged = b".".join((head, b64url(orjson.dumps(claims)), sig))
    status, answer = post(server.url, forged)
    assert (status, answer["error"]) == (401, "bad_signature")
    # a signature cut short, too
    assert post(server.url, b".".join((head, payload, sig[:-8])))[0] == 401
    assert records_with(server, mark) == []


def test_alg_none_and_hs256_tokens_are_refused(server, signing_keys) -> None:
    mark = uuid.uuid4().hex
    claims = orjson.dumps(claims_for(event(redirect_url=f"https://x/{mark}")))
    kid = signing_keys["cur"].kid
    none_token = b".".join((b64url(orjson.dumps({"alg": "none", "kid": kid})), b64url(claims), b""))
    status, answer = post(server.url, none_token)
    assert (status, answer["error"]) == (401, "bad_algorithm")
    # HS256 keyed with the public key: the classic confusion attack on libraries taking alg from the token
    head = b64url(orjson.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}))
    signing_input = head + b"." + b64url(claims)
    mac = hmac.new(signing_keys["cur"].public_pem(), signing_input, hashlib.sha256).digest()
    status, answer = post(server.url, signing_input + b"." + b64url(mac))
    assert (status, answer["error"]) == (401, "bad_algorithm")
    # RS256 in the header but the kid's key used as an HMAC secret: the signature fails
    head = b64url(orjson.dumps({"alg": "RS256", "kid": kid}))
    signing_input = head + b"." + b64url(claims)
    mac = hmac.new(signing_keys["cur"].public_pem(), signing_input, hashlib.sha256).digest()
    assert post(server.url, signing_input + b"." + b64url(mac))[0] == 401
    assert records_with(server, mark) == []


def test_expired_tokens_are_refused_beyond_the_clock_skew_allowance(server, signing_keys) -> None:
    mark = uuid.uuid4().hex
    now = int(time.time())
    old = claims_for(event(redirect_url=f"https://x/{mark}/old"), iat=now - 7200, exp_in=3600)
    status, answer = post(server.url, signing_keys["cur"].sign(old))
    assert (status, answer["error"]) == (401, "expired")
    # expired 10 s ago: inside the 60 s allowance (a sender's clock slightly ahead of ours)
    skewed = claims_for(event(redirect_url=f"https://x/{mark}/skew"), iat=now - 310, exp_in=300)
    assert post(server.url, signing_keys["cur"].sign(skewed))[0] == 200
    early = {**claims_for(event(redirect_url=f"https://x/{mark}/early")), "nbf": now + 3600}
    status, answer = post(server.url, signing_keys["cur"].sign(early))
    assert (status, answer["error"]) == (401, "not_yet_valid")
    assert [orjson.loads(r.value)["body"]["redirect_url"] for r in records_with(server, mark)] == [
        f"https://x/{mark}/skew"
    ]


def test_wrong_issuer_unsigned_and_non_events(server, signing_keys) -> None:
    mark = uuid.uuid4().hex
    ev = event(redirect_url=f"https://x/{mark}")
    status, answer = post(server.url, signing_keys["cur"].sign(claims_for(ev, iss="https://evil.example")))
    assert (status, answer["error"]) == (401, "wrong_issuer")
    status, answer = post(server.url, orjson.dumps(ev))  # plain JSON while signatures are required
    assert (status, answer["error"]) == (401, "unsigned")
    no_meta = {"body": {"x": mark}, "iss": ISSUER}
    status, answer = post(server.url, signing_keys["cur"].sign(no_meta))
    assert (status, answer["error"]) == (400, "not_event")
    for garbage in (b"hello", b"a.b", b"   ", b"\xff\xfe.\x00.zz"):
        assert post(server.url, garbage)[0] == 400, garbage
    assert records_with(server, mark) == []


def test_a_signed_payload_with_an_integer_beyond_64_bits_is_refused(server, signing_keys) -> None:
    """Produced again from its claims, the payload would carry the number as a float (orjson reads
    such an integer as one), a silent change the worker could no longer see: it is refused."""
    import json

    mark = uuid.uuid4().hex
    claims = claims_for(
        event("grade_change", redirect_url=f"https://x/{mark}", score=123456789012345678901234567890)
    )
    status, answer = post(server.url, signing_keys["cur"].sign(json.dumps(claims).encode()))
    assert (status, answer["error"]) == (400, "not_event"), answer
    assert "beyond 64 bits" in answer["detail"]
    assert records_with(server, mark) == []


def test_bodies_above_the_limit_are_refused_with_413(server, signing_keys) -> None:
    mark = uuid.uuid4().hex
    big = event(redirect_url=f"https://x/{mark}/" + "a" * 9000)
    before = server.count(413, "too_large")
    status, answer = post(server.url, signing_keys["cur"].sign(claims_for(big)))
    assert (status, answer["error"]) == (413, "too_large")
    assert server.count(413, "too_large") == before + 1
    assert records_with(server, mark) == []


def test_an_unknown_kid_flood_fetches_the_jwks_at_most_once(server, signing_keys, jwks) -> None:
    before = jwks.requests
    for i in range(25):
        token = signing_keys["cur"].sign(claims_for(event()), kid=f"forged-{i}")
        assert post(server.url, token)[0] == 401
    assert jwks.requests - before <= 1


def test_every_answer_is_counted_by_reason(server, signing_keys) -> None:
    def counts() -> dict:
        return {k[1]: v for k, v in server.metrics().items() if k[0] == "caliper_ingest_requests_total"}

    before = counts()
    post(server.url, signing_keys["cur"].sign(claims_for(event())))
    post(server.url, b"not an event")
    post(server.url, signing_keys["retired"].sign(claims_for(event())))
    after = counts()
    delta = {dict(k)["reason"]: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert delta == {"accepted": 1, "not_event": 1, "unknown_kid": 1}
