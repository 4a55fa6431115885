"""Every metric the alert rules and the dashboard query is one the worker exports: checked against
the agreed list, and against the /metrics page of a real worker running on the test broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.deploy.deploy_support import (
    INGEST_METRICS,
    PROCESS_METRICS,
    REPO,
    SCRAPE_METRICS,
    contract_sample_names,
    dashboard_exprs,
    healthcheck_command,
    load_yaml_docs,
    metric_names,
    names_from_exposition,
    recorded_names,
    rule_exprs,
)

PROFILES = ("basic", "session", "reading", "assignable", "assessment", "grading", "forum", "media",
            "annotation", "tooluse")  # fmt: skip


def _used_names() -> set[str]:
    names: set[str] = set()
    for expr in [*rule_exprs(), *dashboard_exprs()]:
        names |= metric_names(expr)
    return names


# --- the extractor itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('sum by (le) (rate(a_bucket{job=~"$job"}[$__rate_interval]))', {"a_bucket"}),
        ("time() - b_seconds > 300 and on (job) sum by (job, instance) (c) > 0", {"b_seconds", "c"}),
        ('increase(d_total{kind="lost"}[15m]) offset 1h / ignoring(kind) group_left e', {"d_total", "e"}),
        ("caliper:lag:sum > 1e3 and deriv(caliper:lag:sum[15m:1m]) > 0", {"caliper:lag:sum"}),
        ('count(f{job=~"$job"}) by (instance) * 2', {"f"}),
    ],
)
def test_metric_names_extractor(expr: str, expected: set[str]) -> None:
    assert metric_names(expr) == expected


def test_exposition_parser_derives_sample_names_from_type_lines() -> None:
    page = (
        "# HELP x_total Things.\n# TYPE x_total counter\n"
        "# HELP h_seconds Time.\n# TYPE h_seconds histogram\n"
        'g{topic="t",partition="0"} 3.0\n'
    )
    assert names_from_exposition(page) == {
        "x_total", "x_created", "g",
        "h_seconds_bucket", "h_seconds_sum", "h_seconds_count", "h_seconds_created",
    }  # fmt: skip


# --- against the agreed list -----------------------------------------------------------------------


def test_rules_and_dashboard_use_only_agreed_metric_names() -> None:
    known = contract_sample_names() | ingest_names() | PROCESS_METRICS | SCRAPE_METRICS | recorded_names()
    unknown = _used_names() - known
    assert not unknown, f"metric names the worker does not export: {sorted(unknown)}"


def test_dashboard_shows_every_required_view() -> None:
    used = set()
    for expr in dashboard_exprs():
        used |= metric_names(expr)
    required = {
        "caliper_inputs_consumed_total",  # throughput in
        "caliper_envelopes_produced_total",  # throughput out per profile
        "caliper_dead_letters_total",  # dead letters by stage
        "caliper_unmapped_total",  # unmapped by event
        "caliper_end_to_end_lag_seconds_bucket",
        "caliper_consumer_lag",  # per partition
        "caliper_mapping_duration_seconds_bucket",
        "caliper_rebalances_total",
        "caliper_in_flight_inputs",
    }
    assert required - used == set(), f"dashboard lacks {sorted(required - used)}"


def test_dashboard_breaks_down_by_the_agreed_labels() -> None:
    exprs = "\n".join(dashboard_exprs())
    for clause in ("by (profile)", "by (stage)", "by (event_name)", "by (topic, partition)", "by (kind)"):
        assert clause in exprs, f"no panel aggregates {clause}"


# --- against a running worker ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _worker_command() -> list[str]:
    script = Path(sys.executable).with_name("caliper-processor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "processor"]


def _grace_period_seconds() -> int:
    (deployment,) = load_yaml_docs(REPO / "deploy" / "kubernetes" / "deployment.yaml")
    return int(deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])


@pytest.mark.timeout(180)
def test_running_worker_exports_every_name_the_rules_and_dashboard_use(kafka_bootstrap, make_topic, tmp_path):
    if not (REPO / "processor" / "commands" / "run.py").exists():
        pytest.skip("the worker command (processor/commands/run.py) is not there yet")
    tag = uuid.uuid4().hex[:8]
    input_topic = make_topic("deploy-in", partitions=2)
    for profile in PROFILES:
        make_topic(name=f"test-deploy-{tag}-{profile}")
    dlq = make_topic(name=f"test-deploy-{tag}-dlq")
    unmapped = make_topic(name=f"test-deploy-{tag}-unmapped")
    # A few undecodable inputs on both partitions: the worker dead-letters and commits them, after
    # which librdkafka can report a lag per partition (it has none before a group's first commit).
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(4):
        producer.produce(input_topic, value=b"not json {", partition=i % 2)
    assert producer.flush(30) == 0
    port = _free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CALIPER_INPUT_TOPIC": input_topic,
        "CALIPER_OUTPUT_TOPIC_TEMPLATE": f"test-deploy-{tag}-{{profile}}",
        "CALIPER_DLQ_TOPIC": dlq,
        "CALIPER_UNMAPPED_TOPIC": unmapped,
        "CALIPER_GROUP_ID": f"test-deploy-{tag}",
        "CALIPER_METRICS_PORT": str(port),
    }
    env.pop("CALIPER_CONFIG", None)
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [*_worker_command(), "run"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        page = ""
        ready = False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, page = _get(f"{base}/metrics")
                ready = _get(f"{base}/readyz")[0] == 200
            except OSError:
                status = 0
            # Wait for the assignment too, so the per-partition series exist when they can.
            if status == 200 and ready:
                break
            time.sleep(0.5)
        assert proc.poll() is None, f"worker exited early:\n{(tmp_path / 'worker.log').read_text()[-3000:]}"
        assert page, "the worker never answered /metrics"
        assert ready, "the worker never turned ready (/readyz) on a 2-partition input"
        assert _get(f"{base}/healthz")[0] == 200, "the liveness probe path /healthz does not answer 200"
        # The image's HEALTHCHECK one-liner, run as Docker would (python from the image's PATH).
        check = healthcheck_command()
        check_env = {**env, "CALIPER_METRICS_PORT": str(port)}
        ok = subprocess.run([sys.executable, *check[1:]], env=check_env, capture_output=True, timeout=30)
        assert ok.returncode == 0, ok.stderr.decode()[-1000:]
        check_env["CALIPER_METRICS_PORT"] = str(_free_port())
        down = subprocess.run([sys.executable, *check[1:]], env=check_env, capture_output=True, timeout=30)
        assert down.returncode != 0, "the HEALTHCHECK passes with nothing listening"

        exported = names_from_exposition(page)
        agreed = {n for n in contract_sample_names() if not n.endswith("_created")}
        assert agreed - exported == set(), f"agreed metrics absent from /metrics: {sorted(agreed - exported)}"
        needed = _used_names() - recorded_names() - SCRAPE_METRICS - ingest_names()
        assert needed - exported == set(), f"rules/dashboard query names not on /metrics: {needed - exported}"
        # The rules and dashboard group the lag by (topic, partition): those labels must be there once
        # librdkafka's statistics (every processor.statistics_interval_s) report the assignment.
        lag_series = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not lag_series:
            lag_series = "\n".join(
                line
                for line in _get(f"{base}/metrics")[1].splitlines()
                if line.startswith("caliper_consumer_lag{") and f'topic="{input_topic}"' in line
            )
            time.sleep(1)
        assert 'partition="0"' in lag_series and 'partition="1"' in lag_series, lag_series or "no lag series"

        # The Deployment's grace period must cover a clean stop: SIGTERM, flush, commit, exit 0.
        grace = _grace_period_seconds()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=grace)
        assert code == 0, f"worker exited {code} on SIGTERM"
        assert time.monotonic() - started < grace
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def ingest_names() -> set[str]:
    return contract_sample_names(INGEST_METRICS)


def test_the_receiver_exports_every_name_its_alerts_and_dashboard_row_use(
    kafka_bootstrap, make_topic, tmp_path
):
    from tests.ingest.support import start_ingest

    used = {n for n in _used_names() if n.startswith("caliper_ingest_")}
    assert used, "no rule or panel queries the receiver"
    assert used <= ingest_names(), f"not agreed for the receiver: {sorted(used - ingest_names())}"
    ing = start_ingest(
        kafka_bootstrap, make_topic("deploy-ingest"), tmp_path / "ingest.log", require_signature="false"
    )
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ing.port}/metrics", timeout=5) as r:
            exported = names_from_exposition(r.read().decode())
    finally:
        assert ing.stop() == 0
    assert used - exported == set(), f"receiver metrics absent from its /metrics: {sorted(used - exported)}"
