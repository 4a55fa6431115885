"""The worker against a secured broker: SCRAM, PLAIN and mTLS end to end, and every way it can be refused.

A refusal (wrong password, wrong CA, no client certificate, a missing ACL) must end the worker with
exit status 2 within 30 s and one line that names the cause, before it consumes anything.
"""

from __future__ import annotations

import re

import orjson
import pytest

from tests.conftest import REPO

from .conftest import (
    PROFILES,
    SecureKafka,
    Topics,
    committed,
    make_topics,
    produce,
    read_all,
    run_cli,
    worker_env,
)

pytestmark = [pytest.mark.kafka]

SAMPLES = [
    line.strip()
    for line in (REPO / "mappings" / "samples" / "canvas_events.jsonl").read_bytes().splitlines()
    if line.strip()
]
NOT_JSON = b"\xff not json"
EXIT_WITHIN_S = 30.0


def fill_input(cluster: SecureKafka, topics: Topics) -> int:
    produce(cluster.admin_conf(), topics.input, [*SAMPLES, NOT_JSON])
    return len(SAMPLES) + 1


def outputs(cluster: SecureKafka, topics: Topics) -> int:
    return sum(len(read_all(cluster.admin_conf(), topics.output(p))) for p in PROFILES)


# ---- end to end --------------------------------------------------------------------------------


def _principal_and_conf(cluster: SecureKafka, how: str) -> tuple[str, dict[str, str]]:
    if how == "scram":
        user, password = cluster.new_user()
        return f"User:{user}", cluster.scram(user, password)
    if how == "plain":
        user, password = next(iter(cluster.settings["plain_users"].items()))
        return f"User:{user}", cluster.plain(user, password)
    return "User:worker-mtls", cluster.mtls("worker-mtls")  # CN=worker-mtls, mapped by the broker's rule


@pytest.mark.parametrize("how", ["scram", "plain", "mtls"])
def test_the_worker_runs_end_to_end(secure_kafka: SecureKafka, how: str) -> None:
    topics = make_topics(secure_kafka)
    principal, conf = _principal_and_conf(secure_kafka, how)
    secure_kafka.grant(principal, topics.worker_acls())
    n = fill_input(secure_kafka, topics)

    run = run_cli("run", "--exit-when-drained", "--log-format", "json", env=worker_env(conf, topics))

    assert run.code == 0, run.out[-3000:]
    assert outputs(secure_kafka, topics) == len(SAMPLES)
    [dead] = read_all(secure_kafka.admin_conf(), topics.dlq)
    assert dead.value() == NOT_JSON
    assert committed(secure_kafka.admin_conf(), topics.group, topics.input) == n
    msgs = [orjson.loads(line)["msg"] for line in run.out.splitlines() if line.startswith("{")]
    assert "permissions checked" in msgs and "worker stopped" in msgs


def test_topics_create_on_the_secured_cluster(secure_kafka: SecureKafka) -> None:
    topics = make_topics(secure_kafka, create=False)
    env = worker_env(secure_kafka.admin_conf(), topics)

    first = run_cli("topics", "create", "--partitions", "1", env=env)
    assert first.code == 0, first.out
    assert sorted(re.findall(r"^created +(\S+)$", first.out, re.M)) == sorted(topics.all())
    again = run_cli("topics", "create", "--partitions", "1", env=env)
    assert again.code == 0, again.out
    assert sorted(re.findall(r"^exists +(\S+)$", again.out, re.M)) == sorted(topics.all())

    # an ordinary user may not create topics: each one is reported, exit status 1
    user, password = secure_kafka.new_user()
    other = make_topics(secure_kafka, create=False)
    denied = run_cli("topics", "create", env=worker_env(secure_kafka.scram(user, password), other))
    assert denied.code == 1, denied.out
    assert len(re.findall(r"^error +\S+ +\(.*authoriz", denied.out, re.M | re.I)) == len(other.all())

    # a wrong password ends it at once instead of waiting out the 30 s timeout
    wrong = run_cli("topics", "create", env=worker_env(secure_kafka.scram(user, "not-" + password), other))
    assert wrong.code == 2 and wrong.seconds < EXIT_WITHIN_S, wrong.out
    assert "authentication failed" in wrong.out


# ---- refused connections -----------------------------------------------------------------------


def _refused_conf(cluster: SecureKafka, case: str) -> tuple[dict[str, str], str]:
    """(settings, a word the one error line must contain) for each way to be refused."""
    s = cluster.settings
    user, password = next(iter(s["scram_users"].items()))
    if case == "wrong password (SCRAM)":
        return cluster.scram(user, "wrong-" + password), "authentication failed"
    if case == "wrong password (PLAIN)":
        puser, ppassword = next(iter(s["plain_users"].items()))
        return cluster.plain(puser, "wrong-" + ppassword), "Invalid username or password"
    if case == "CA that does not match (SASL_SSL)":
        return {
            **cluster.scram(user, password),
            "ssl.ca.location": s["other_ca"],
        }, "certificate verify failed"
    if case == "CA that does not match (mTLS)":
        return {**cluster.mtls(), "ssl.ca.location": s["other_ca"]}, "certificate verify failed"
    if case == "missing client certificate":
        return cluster.mtls(None), "client certificate"
    if case == "client certificate from another CA":
        u = s["untrusted_client"]
        return {**cluster.mtls(None), "ssl.certificate.location": u["cert"], "ssl.key.location": u["key"]}, (
            "client certificate"
        )
    if case == "PLAINTEXT client on the TLS port":
        return {"bootstrap.servers": cluster.ssl_bootstrap}, "security.protocol"
    raise AssertionError(case)


REFUSALS = [
    "wrong password (SCRAM)",
    "wrong password (PLAIN)",
    "CA that does not match (SASL_SSL)",
    "CA that does not match (mTLS)",
    "missing client certificate",
    "client certificate from another CA",
    "PLAINTEXT client on the TLS port",
]


def assert_one_error_line(run, cause: str) -> str:
    """Exactly one line that is not an info/debug log record, and it names the cause."""
    assert "Traceback" not in run.out, run.out[-3000:]
    others = []
    for line in run.out.splitlines():
        if line.startswith("{") and orjson.loads(line)["level"] in ("info", "debug"):
            continue
        others.append(line)
    assert len(others) == 1, run.out[-3000:]
    [line] = others
    assert line.startswith("caliper-processor: cannot start: "), line
    assert cause in line, line
    return line


@pytest.fixture(scope="module")
def refusal_topics(secure_kafka: SecureKafka) -> Topics:
    topics = make_topics(secure_kafka)
    fill_input(secure_kafka, topics)
    return topics


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_connection_exits_2_at_once_with_one_line(
    secure_kafka: SecureKafka, refusal_topics: Topics, case: str
) -> None:
    conf, cause = _refused_conf(secure_kafka, case)
    run = run_cli("run", "--log-format", "json", env=worker_env(conf, refusal_topics), timeout=60)
    assert run.code == 2, run.out[-3000:]
    assert run.seconds < EXIT_WITHIN_S
    line = assert_one_error_line(run, cause)
    if "sasl.password" in conf:
        assert conf["sasl.password"] not in run.out
    print(f"\n[{case}] exit {run.code} after {run.seconds:.2f} s: {line}")


# ---- missing ACLs ------------------------------------------------------------------------------


def _without(topics: Topics, case: str) -> tuple[tuple[str, str, str], str]:
    """(the ACL left out, the words the error must contain)."""
    if case == "no Read on the input topic":
        return ("topic", topics.input, "READ"), f"Read on topic '{topics.input}' (input)"
    if case == "no Write on an output topic":
        t = topics.output("session")
        return ("topic", t, "WRITE"), f"Write on topic '{t}' (output)"
    if case == "no Write on the dead-letter topic":
        return ("topic", topics.dlq, "WRITE"), f"Write on topic '{topics.dlq}' (dead letters)"
    if case == "no Read on the group":
        return ("group", topics.group, "READ"), f"Read on group '{topics.group}' (consumer group)"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "no Read on the input topic",
        "no Write on an output topic",
        "no Write on the dead-letter topic",
        "no Read on the group",
    ],
)
def test_a_missing_acl_is_named_before_anything_is_consumed(
    secure_kafka: SecureKafka, refusal_topics: Topics, case: str
) -> None:
    user, password = secure_kafka.new_user()
    left_out, words = _without(refusal_topics, case)
    acls = [a for a in refusal_topics.worker_acls() if a != left_out]
    assert len(acls) == len(refusal_topics.worker_acls()) - 1
    secure_kafka.grant(f"User:{user}", acls)

    run = run_cli(
        "run", "--log-format", "json", env=worker_env(secure_kafka.scram(user, password), refusal_topics)
    )

    assert run.code == 2, run.out[-3000:]
    assert run.seconds < EXIT_WITHIN_S
    line = assert_one_error_line(run, words)
    assert f"user '{user}'" in line
    # nothing was consumed, so nothing was committed or written
    assert committed(secure_kafka.admin_conf(), refusal_topics.group, refusal_topics.input) < 0
    assert outputs(secure_kafka, refusal_topics) == 0
    assert read_all(secure_kafka.admin_conf(), refusal_topics.dlq) == []
    print(f"\n[{case}] exit {run.code} after {run.seconds:.2f} s: {line}")
