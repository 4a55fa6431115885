"""The privacy policy: its value operations against published vectors, each rule, and `minimal` over
every sample and documented event in both mapping sets and both forms (valid, no raw user id left)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.errors import MappingError, UnmappedEventError
from mappings.privacy import PolicyError, build_policy
from mappings.redact import Hasher, clean_url, truncate_ip
from mappings.transform import Transformer
from mappings.validator import validate_envelope
from tests.conftest import shared_dir

KEY = "a-deployment-key-of-32-bytes-...."
SAMPLES = resources.files("mappings") / "samples" / "canvas_events.jsonl"
HEX64 = re.compile(r"[0-9a-f]{64}")
USER_URN = re.compile(r"urn:instructure:canvas:user:([^:\"]+)")
# Canvas fields that name a person, read from the inputs by this test on its own terms
PERSON_FIELDS = ("user_id", "real_user_id", "student_id", "grader_id", "author_id", "associated_user_id")


def hmac_hex(value: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


# ---- value operations ---------------------------------------------------------------------------


def test_hasher_gives_rfc_4231_hmac_sha256() -> None:
    # RFC 4231 test cases 2 (a short key) and 6 (a key longer than the block, hashed first)
    assert Hasher(b"Jefe")("what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert Hasher(b"\xaa" * 131)("Test Using Larger Than Block-Size Key - Hash Key First") == (
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    )


def test_hasher_cache_starts_over_when_full_and_still_answers_the_same() -> None:
    h = Hasher(b"k" * 16, cache_size=3)
    first = [h(str(i)) for i in range(10)]
    assert (
        [h(str(i)) for i in range(10)]
        == first
        == [hmac.new(b"k" * 16, str(i).encode(), "sha256").hexdigest() for i in range(10)]
    )


@pytest.mark.parametrize(
    ("value", "cut"),
    [
        ("198.51.100.23", "198.51.100.0"),
        ("10.0.0.255", "10.0.0.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("fe80::1%eth0", "fe80::"),
        ("999.1.1.1", None),
        ("01.2.3.4", None),  # a leading zero: octal to some readers
        ("1.2.3.4.5", None),
        ("\u0663.1.1.1", None),  # a digit, but not an ASCII one
        ("not an address", None),
        ("", None),
    ],
)
def test_truncate_ip(value: str, cut: str | None) -> None:
    assert truncate_ip(value) == cut


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://x.edu/a?access_token=1~abc&per_page=10", "https://x.edu/a?per_page=10"),
        ("https://x.edu/a?per_page=10&ACCESS_TOKEN=1~abc", "https://x.edu/a?per_page=10"),
        ("https://x.edu/a?api_key=k&sig=s&signature=t&password=p&secret=q&token=z", "https://x.edu/a"),
        ("https://x.edu/a?access%5Ftoken=1~abc&b=2#frag", "https://x.edu/a?b=2#frag"),
        ("https://x.edu/f?X-Amz-Signature=ab&X-Amz-Credential=cd&inline=1", "https://x.edu/f?inline=1"),
        # nothing to cut: byte for byte, encoding and order kept
        ("https://x.edu/a?b=%20c&a=1&tokenish_name=2", "https://x.edu/a?b=%20c&a=1&tokenish_name=2"),
        ("https://x.edu/a", "https://x.edu/a"),
        ("https://x.edu/a?", "https://x.edu/a?"),
    ],
)
def test_credentials_are_cut_from_urls(url: str, clean: str) -> None:
    assert clean_url(url) == clean


def test_strip_query_and_remove_params() -> None:
    assert clean_url("https://x.edu/a?b=1#c", strip_query=True) == "https://x.edu/a"
    assert (
        clean_url("https://x.edu/a?b=1&c=2", remove=frozenset({"b"}), needles=("b",)) == "https://x.edu/a?c=2"
    )


# ---- the policy on Canvas events ----------------------------------------------------------------


def canvas(**meta: object) -> dict:
    base = {
        "event_name": "logged_in",
        "event_time": "2026-10-01T13:00:00.000Z",
        "user_id": "10420000000004711",
        "real_user_id": "10420000000000007",
        "user_login": "river.lee@example.edu",
        "user_sis_id": "SIS-4711",
        "user_agent": "Mozilla/5.0",
        "client_ip": "198.51.100.23",
        "session_id": "a3c9e1f04b7d4e2f9c8a6b5d4e3f2a10",
        "hostname": "canvas.example.edu",
        "root_account_id": "10420000000000001",
        "context_type": "Course",
        "context_id": "10420000000009430",
        "context_role": "StudentEnrollment",
        "url": "https://canvas.example.edu/login?access_token=1~abc&next=/courses",
        "referrer": "https://canvas.example.edu/?sig=x",
    }
    base.update(meta)
    return {
        "metadata": {k: v for k, v in base.items() if v is not None},
        "body": {"redirect_url": "https://canvas.example.edu/?token=t&x=1"},
    }


def mapped(settings: dict, raw: dict, **kw: object) -> dict:
    return (
        Transformer(policy=build_policy(settings), **kw).transform_obj(copy.deepcopy(raw)).envelope["data"][0]
    )


def test_the_default_policy_cuts_credentials_and_nothing_else() -> None:
    event = mapped({}, canvas())
    ext = event["extensions"]["com.instructure.canvas"]
    assert ext["request_url"] == "https://canvas.example.edu/login?next=/courses"
    assert event["referrer"] == "https://canvas.example.edu/"
    assert (
        event["object"]["extensions"]["com.instructure.canvas"]["redirect_url"]
        == "https://canvas.example.edu/?x=1"
    )
    assert event["actor"]["id"] == "urn:instructure:canvas:user:10420000000004711"
    assert ext["client_ip"] == "198.51.100.23" and ext["user_agent"] == "Mozilla/5.0"
    assert event["actor"]["extensions"]["com.instructure.canvas"]["user_login"] == "river.lee@example.edu"


def test_minimal_preset() -> None:
    event = mapped({"preset": "minimal", "key": KEY}, canvas())
    uid, real = hmac_hex("10420000000004711"), hmac_hex("10420000000000007")
    actor_ext = event["actor"]["extensions"]["com.instructure.canvas"]
    assert event["actor"]["id"] == f"urn:instructure:canvas:user:{uid}"
    assert actor_ext["entity_id"] == uid and actor_ext["real_user_id"] == real
    assert "user_login" not in actor_ext and "user_sis_id" not in actor_ext
    ext = event["extensions"]["com.instructure.canvas"]
    assert "user_agent" not in ext and ext["client_ip"] == "198.51.100.0"
    assert event["membership"]["id"].endswith(f":Learner:{uid}")
    assert event["membership"]["member"]["id"] == f"urn:instructure:canvas:user:{uid}"
    assert "10420000000004711" not in json.dumps(event)


def test_hashes_are_stable_across_policies_with_one_key_and_differ_with_another() -> None:
    a = mapped({"preset": "minimal", "key": KEY}, canvas())["actor"]["id"]
    b = mapped({"preset": "minimal", "key": KEY}, canvas())["actor"]["id"]  # another worker, a restart
    c = mapped({"preset": "minimal", "key": KEY[::-1]}, canvas())["actor"]["id"]
    assert a == b != c


def test_field_rules() -> None:
    settings = {
        "key": KEY,
        "fields": {
            "session": "hash",
            "referrer": "drop",
            "hostname": "hash",
            "client_ip": "truncate",
            "user_login": "keep",
        },
    }
    event = mapped(settings, canvas(client_ip="2001:db8:abcd:12::7"))
    assert event["session"]["id"] == "urn:instructure:canvas:session:" + hmac_hex(
        "a3c9e1f04b7d4e2f9c8a6b5d4e3f2a10"
    )
    assert "referrer" not in event
    ext = event["extensions"]["com.instructure.canvas"]
    assert ext["hostname"] == hmac_hex("canvas.example.edu") and ext["client_ip"] == "2001:db8:abcd::"
    # a value that is not an address cannot be truncated, so it does not pass
    assert (
        "client_ip"
        not in mapped(settings, canvas(client_ip="unknown"))["extensions"]["com.instructure.canvas"]
    )


def test_url_rules() -> None:
    strip = mapped({"urls": "strip_query"}, canvas())
    assert strip["extensions"]["com.instructure.canvas"]["request_url"] == "https://canvas.example.edu/login"
    named = mapped({"urls": "remove_params", "remove_params": ["next"]}, canvas())
    assert named["extensions"]["com.instructure.canvas"]["request_url"] == "https://canvas.example.edu/login"
    extra = mapped({"credential_params": ["next"]}, canvas())
    assert extra["extensions"]["com.instructure.canvas"]["request_url"] == "https://canvas.example.edu/login"


def test_unknown_user_0_is_not_hashed() -> None:
    event = mapped({"preset": "minimal", "key": KEY}, canvas(user_id="0", real_user_id=None))
    assert event["actor"]["id"] == "urn:instructure:canvas:user:0"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"preset": "minimal"}, "need a key"),
        ({"fields": {"user_login": "hash"}}, "need a key"),
        ({"preset": "minimal", "key": "short"}, "at least 16 bytes"),
        ({"preset": "strictest"}, "unknown preset 'strictest'"),
        (
            {"fields": {"user_login": "shred"}},
            "privacy.fields.user_login: expected one of keep, drop, hash, truncate",
        ),
        ({"fields": {"referrer": "truncate"}}, "truncate applies to IP addresses only"),
        ({"urls": "remove_params"}, "needs the parameter names"),
        ({"pseudonymous_users": "yes"}, "expected true or false"),
        ({"colour": "blue"}, "unknown key colour"),
    ],
)
def test_policies_that_cannot_work_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        build_policy(settings)


# ---- every sample and documented event ----------------------------------------------------------


def _inputs() -> list[dict]:
    found = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
    for folder in ("canvas", "canvas_only"):
        try:
            path = shared_dir("canvas-docs", folder)
        except pytest.skip.Exception:
            continue
        for doc in sorted(path.glob("*.json")):
            found += [e["payload"] for e in json.loads(doc.read_text())["examples"]]
    return found


def _person_ids(raw: dict) -> set[str]:
    """The user ids an input carries, as this test reads them (not as the policy does); an id that
    is also the value of another field (the examples give user 1 and root account 1 one number)
    is left out, as its other use may rightly stay."""
    ids, others = set(), set()
    for part in (
        raw.get("metadata") or raw.get("attributes") or {},
        raw.get("body") or raw.get("data") or {},
    ):
        if isinstance(part, dict):
            for key, value in part.items():
                if value in (None, "", "0", 0) or isinstance(value, bool | dict | list):
                    continue
                (ids if key in PERSON_FIELDS else others).add(str(value))
    return ids - others


@pytest.mark.parametrize("mappings", ["instructure", "extended"])
@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_minimal_over_every_event_keeps_it_valid_and_leaves_no_raw_user_id(
    mappings: str, strict: bool
) -> None:
    transformer = Transformer(
        strict=strict, mappings=mappings, policy=build_policy({"preset": "minimal", "key": KEY})
    )
    checked = 0
    for raw in _inputs():
        try:
            envelope = transformer.transform_obj(copy.deepcopy(raw)).envelope
        except UnmappedEventError:
            continue
        except MappingError:  # an input the mapping refuses with or without a policy
            with pytest.raises(MappingError):
                Transformer(strict=strict, mappings=mappings).transform_obj(copy.deepcopy(raw))
            continue
        text = json.dumps(envelope)
        name = raw["metadata"]["event_name"]
        assert validate_envelope(envelope, tolerant=not strict) == [], name
        for user_id in _person_ids(raw):
            if len(user_id) > 3:  # a short id such as "5" is a substring of everything
                assert user_id not in text, f"{name}: user id {user_id} left in the envelope"
        for found in USER_URN.findall(text):
            assert found == "0" or HEX64.fullmatch(found), f"{name}: user URN with {found}"
        for field in (
            '"user_login"',
            '"user_sis_id"',
            '"user_agent"',
            "access_token",
            "@domain.tld",
            "Leibniz",
        ):
            assert field not in text, f"{name}: {field} left in the envelope"
        checked += 1
    assert checked >= 60


def test_documented_metadata_example_url_loses_only_its_access_token() -> None:
    """Instructure's own metadata example carries an access token in `url`; every policy cuts it."""
    doc = json.loads((shared_dir("canvas-docs", "reference") / "canvas_metadata.json").read_text())
    url = next(_urls(doc))
    assert url.startswith("https://oxana.instructure.com/api/v1/accounts/1/users?access_token=123~")
    raw = canvas(url=url)
    for policy in ({}, {"preset": "minimal", "key": KEY}):
        event = mapped(policy, raw)
        assert event["extensions"]["com.instructure.canvas"]["request_url"] == (
            "https://oxana.instructure.com/api/v1/accounts/1/users"
        )
    assert (
        Transformer()
        .transform_obj(copy.deepcopy(raw))
        .envelope["data"][0]["extensions"]["com.instructure.canvas"]["request_url"]
        == url
    )  # no policy: the mapping alone copies it as Instructure does


def _urls(node: object):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "url" and isinstance(value, str) and "access_token=" in value:
                yield value
            else:
                yield from _urls(value)
    elif isinstance(node, list):
        for value in node:
            yield from _urls(value)


# ---- generated events ---------------------------------------------------------------------------

_SAMPLE_INPUTS = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
_ids = st.from_regex(r"97[0-9]{15}", fullmatch=True)
_credential_urls = st.builds(
    lambda path, name, value: f"https://canvas.example.edu/{path}?{name}={value}&page=2",
    st.from_regex(r"[a-z/]{0,20}", fullmatch=True),
    st.sampled_from(["access_token", "API_KEY", "Signature", "sig", "password", "x-amz-security-token"]),
    st.text(alphabet="abcdef0123456789~", min_size=1, max_size=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(_SAMPLE_INPUTS),
    user_id=_ids,
    real_user_id=st.one_of(st.none(), _ids),
    body_user=st.one_of(st.none(), _ids),
    url=_credential_urls,
    strict=st.booleans(),
    mappings=st.sampled_from(["instructure", "extended"]),
)
def test_minimal_over_generated_events(
    sample, user_id, real_user_id, body_user, url, strict, mappings
) -> None:
    raw = copy.deepcopy(sample)
    meta, body = raw["metadata"], raw.setdefault("body", {})
    meta.update(user_id=user_id, url=url, referrer=url)
    if real_user_id is not None:
        meta["real_user_id"] = real_user_id
    if body_user is not None and "user_id" in body:
        body["user_id"] = body_user
    policy = build_policy({"preset": "minimal", "key": KEY})
    try:
        envelope = Transformer(strict=strict, mappings=mappings, policy=policy).transform_obj(raw).envelope
    except UnmappedEventError:
        return
    text = json.dumps(envelope)
    assert validate_envelope(envelope, tolerant=not strict) == []
    for value in (user_id, real_user_id, body_user):
        if value is not None:
            assert value not in text
    assert "page=2" in text or "request_url" not in text  # the rest of the URL stays
    lowered = text.lower()
    for name in ("access_token", "api_key", "signature=", "sig=", "password", "x-amz-security-token"):
        assert name not in lowered
