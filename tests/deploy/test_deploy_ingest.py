"""The receiver's deployment files: Kubernetes manifests valid against the Kubernetes schemas and wired
to the receiver's real port and endpoints, and the Compose service and its scrape job."""

from __future__ import annotations

import pytest
import yaml

from processor.config import DEFAULTS
from tests.deploy.deploy_support import COMPOSE_DIR, K8S_DIR, load_yaml_docs
from tests.deploy.test_deploy_kubernetes import K8S_VERSIONS

kubernetes_validate = pytest.importorskip("kubernetes_validate")
INGEST_DIR = K8S_DIR / "ingest"
LABELS = {"app.kubernetes.io/name": "caliper-processor", "app.kubernetes.io/component": "ingest"}


def _docs() -> list[dict]:
    files = yaml.safe_load((INGEST_DIR / "kustomization.yaml").read_text())["resources"]
    return [d for f in files for d in load_yaml_docs(INGEST_DIR / f)]


def _one(kind: str) -> dict:
    (doc,) = [d for d in _docs() if d["kind"] == kind]
    return doc


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_native_manifests_match_the_kubernetes_schema(version: str) -> None:
    for doc in _docs():
        if doc["kind"] != "ServiceMonitor":
            kubernetes_validate.validate(doc, version, strict=True)


def test_deployment_service_and_ingress_fit_together() -> None:
    dep, svc, ing = _one("Deployment"), _one("Service"), _one("Ingress")
    pod = dep["spec"]["template"]
    assert dep["spec"]["selector"]["matchLabels"] == LABELS == pod["metadata"]["labels"]
    assert svc["spec"]["selector"] == LABELS
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["caliper-processor", "ingest"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    port = int(env["CALIPER_INGEST_PORT"])
    assert [p["containerPort"] for p in container["ports"]] == [port]
    assert env["CALIPER_INGEST_REQUIRE_SIGNATURE"] == "true"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert svc["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
    # the grace period covers the receiver's own shutdown budget
    assert pod["spec"]["terminationGracePeriodSeconds"] > DEFAULTS["ingest"]["shutdown_timeout_s"]
    # only the deliveries path is routed from outside, to this Service
    (rule,) = ing["spec"]["rules"]
    paths = rule["http"]["paths"]
    assert [p["path"] for p in paths] == [DEFAULTS["ingest"]["path"]]
    assert paths[0]["backend"]["service"]["name"] == svc["metadata"]["name"]
    assert _one("ServiceMonitor")["spec"]["selector"]["matchLabels"] == LABELS


def test_compose_runs_the_receiver_and_prometheus_scrapes_it() -> None:
    (compose,) = load_yaml_docs(COMPOSE_DIR / "compose.yaml")
    svc = compose["services"]["ingest"]
    assert svc["entrypoint"] == ["caliper-processor", "ingest"]
    port = svc["environment"]["CALIPER_INGEST_PORT"]
    assert any(p.endswith(f":{port}") for p in svc["ports"])
    (prom,) = load_yaml_docs(COMPOSE_DIR / "prometheus.yml")
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert jobs["caliper-ingest"]["static_configs"][0]["targets"] == [f"ingest:{port}"]
