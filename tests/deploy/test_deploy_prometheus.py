"""Alert rules: promtool accepts them and their unit tests pass; every alert carries a summary and
a runbook section that exists in docs/operations.md, and has a unit test that shows it firing."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.deploy.deploy_support import (
    COMPOSE_DIR,
    OPERATIONS_MD,
    RULE_TESTS_DIR,
    dashboard_exprs,
    load_yaml_docs,
    markdown_anchors,
    promtool,
    rule_files,
    rules,
)

# What the alerts must cover, by name.
REQUIRED_ALERTS = {
    "CaliperConsumerLagGrowing",
    "CaliperDeadLetters",
    "CaliperNoProgress",
    "CaliperProduceErrors",
    "CaliperWorkerDown",
    "CaliperRebalanceStorm",
}


def _alerts() -> list[dict]:
    return [r for r in rules() if "alert" in r]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_promtool_check_rules() -> None:
    files = [str(p) for p in rule_files()]
    assert files, "no rule files under deploy/prometheus/rules"
    result = _run(promtool(), "check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_test_rules() -> None:
    tests = [str(p) for p in sorted(RULE_TESTS_DIR.glob("*.yaml"))]
    assert tests, "no promtool unit tests under deploy/prometheus/tests"
    result = _run(promtool(), "test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout + result.stderr


def test_promtool_check_compose_prometheus_config() -> None:
    result = _run(promtool(), "check", "config", "--syntax-only", str(COMPOSE_DIR / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_required_alerts_exist() -> None:
    names = {a["alert"] for a in _alerts()}
    assert names >= REQUIRED_ALERTS, f"missing alerts: {sorted(REQUIRED_ALERTS - names)}"


def test_alert_names_are_unique() -> None:
    names = [a["alert"] for a in _alerts()]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("alert", _alerts(), ids=lambda a: a["alert"])
def test_alert_has_summary_severity_and_runbook_section(alert: dict) -> None:
    annotations = alert.get("annotations", {})
    assert annotations.get("summary", "").strip(), "summary annotation missing"
    assert alert.get("labels", {}).get("severity") in {"warning", "critical"}
    runbook = annotations.get("runbook_url", "")
    path, _, anchor = runbook.partition("#")
    assert path == "docs/operations.md", f"runbook_url {runbook!r} must point into docs/operations.md"
    assert anchor in markdown_anchors(OPERATIONS_MD), f"no section #{anchor} in docs/operations.md"


def test_every_alert_is_shown_firing_by_a_unit_test() -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    for path in sorted(RULE_TESTS_DIR.glob("*.yaml")):
        for doc in load_yaml_docs(path):
            for case in doc["tests"]:
                for check in case.get("alert_rule_test", []):
                    (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {a["alert"] for a in _alerts()}
    assert names - fired == set(), f"alerts never shown firing: {sorted(names - fired)}"
    assert names - silent == set(), f"alerts never shown staying silent: {sorted(names - silent)}"


def test_alerts_select_the_scrape_job_of_the_deployments() -> None:
    # The compose job name and the Kubernetes Service name (the ServiceMonitor's job label) must be
    # the job the rules select.
    (prom,) = load_yaml_docs(COMPOSE_DIR / "prometheus.yml")
    jobs = {j["job_name"] for j in prom["scrape_configs"]}
    selected = {a["expr"] for a in _alerts() if 'job="' in a["expr"]}
    assert selected, "no alert selects a job"
    for expr in selected:
        job = expr.split('job="', 1)[1].split('"', 1)[0]
        assert job in jobs, f"{expr!r} selects job {job!r}, compose scrapes {sorted(jobs)}"


# Grafana's variables, replaced by values PromQL accepts, so promtool can parse the panel queries.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "$job": ".+",
    "$instance": ".+",
}


def test_dashboard_queries_are_valid_promql(tmp_path) -> None:
    exprs = dashboard_exprs()
    assert exprs
    rules_doc = {"groups": [{"name": "dashboard", "rules": []}]}
    for i, expr in enumerate(exprs):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
        rules_doc["groups"][0]["rules"].append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(rules_doc), encoding="utf-8")
    result = _run(promtool(), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
