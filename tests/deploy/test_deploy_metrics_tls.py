"""The metrics-tls Kubernetes component, rendered by kustomize (`kubectl kustomize`, offline) over the
base: the result still matches the Kubernetes schemas, probes speak HTTPS, the ServiceMonitor scrapes
with https, tlsConfig and basicAuth from Secrets the template defines, and the settings the worker
gets from it really turn on TLS and basic auth (a real server, started from exactly those settings)."""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.conftest import REPO
from tests.deploy.deploy_support import K8S_DIR, load_yaml_docs

COMPONENT = K8S_DIR / "metrics-tls"


def _kustomize() -> list[str]:
    """`kubectl kustomize`, else the standalone `kustomize build` (.ci/run installs it when neither is
    on the machine), else the project's cached one."""
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    standalone = shutil.which("kustomize") or next(
        (str(p) for p in [REPO / ".cache" / "bin" / "kustomize"] if p.is_file()), None
    )
    if standalone:
        return [standalone, "build"]
    if os.environ.get("CI") == "true":
        pytest.fail("kubectl or kustomize is required in CI (it renders the kustomize component)")
    pytest.skip("neither kubectl nor kustomize is installed (deploy/kustomize.sh installs kustomize)")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    overlay = tmp_path_factory.mktemp("overlay")
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S_DIR, overlay)],
                "components": [os.path.relpath(COMPONENT, overlay)],
            }
        )
    )
    result = subprocess.run([*_kustomize(), str(overlay)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _one(docs: list[dict], kind: str) -> dict:
    (found,) = [d for d in docs if d["kind"] == kind]
    return found


def _container(docs: list[dict]) -> dict:
    (container,) = _one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def _secrets() -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in load_yaml_docs(COMPONENT / "secret.example.yaml")}


def test_component_is_listed_commented_in_the_base() -> None:
    text = (K8S_DIR / "kustomization.yaml").read_text()
    assert "#   - metrics-tls" in text
    (component,) = load_yaml_docs(COMPONENT / "kustomization.yaml")
    assert component["kind"] == "Component"
    for patch in component["patches"]:
        assert (COMPONENT / patch["path"]).is_file()


def test_rendered_deployment_and_secret_templates_match_the_kubernetes_schema(rendered) -> None:
    kubernetes_validate.validate(
        _one(rendered, "Deployment"), kubernetes_validate.latest_version(), strict=True
    )
    for secret in _secrets().values():
        kubernetes_validate.validate(secret, kubernetes_validate.latest_version(), strict=True)


def test_probes_speak_https_to_the_same_endpoints(rendered) -> None:
    container = _container(rendered)
    for probe, path in (
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ):
        get = container[probe]["httpGet"]
        assert (get["scheme"], get["path"], get["port"]) == ("HTTPS", path, "metrics")
        assert "httpHeaders" not in get  # probes stay open: no credentials to send


def test_servicemonitor_scrapes_https_with_the_templates_secrets(rendered) -> None:
    (endpoint,) = _one(rendered, "ServiceMonitor")["spec"]["endpoints"]
    assert endpoint["scheme"] == "https" and endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    secrets = _secrets()
    ca = endpoint["tlsConfig"]["ca"]["secret"]
    assert ca["key"] in secrets[ca["name"]]["stringData"]
    assert endpoint["tlsConfig"]["serverName"]
    for part in ("username", "password"):
        ref = endpoint["basicAuth"][part]
        assert ref["key"] in secrets[ref["name"]]["stringData"]


def _worker_env(
    container: dict, volumes: dict[str, dict], secrets: dict[str, dict], root: Path
) -> dict[str, str]:
    """The container's CALIPER_HTTP_* environment as the kubelet would give it, with each mounted
    Secret written under `root` from `secrets` (mount paths rewritten to there)."""
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    rewrite: dict[str, Path] = {}
    for mount_path, name in mounts.items():
        source = volumes[name].get("secret")
        if not source or source["secretName"] not in secrets:
            continue
        data = secrets[source["secretName"]]["stringData"]
        items = source.get("items") or [{"key": k, "path": k} for k in data]
        target = root / name
        target.mkdir()
        for item in items:
            (target / item["path"]).write_text(data[item["key"]])
        rewrite[mount_path] = target
    env: dict[str, str] = {}
    for var in container["env"]:
        if not var["name"].startswith("CALIPER_HTTP_"):
            continue
        if "valueFrom" in var:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[ref["name"]]["stringData"][ref["key"]]
            continue
        value = var["value"]
        for mount_path, target in rewrite.items():
            if value.startswith(mount_path + "/"):
                value = str(target / value.removeprefix(mount_path + "/"))
        assert Path(value).is_file() or not value.startswith("/"), f"{var['name']}: {value} is not mounted"
        env[var["name"]] = value
    return env


def test_the_components_settings_turn_on_tls_and_basic_auth(rendered, tmp_path: Path) -> None:
    from processor.config import load
    from processor.health import HealthState, HttpServer
    from tests.worker.tls_support import Ca

    # The templates with real values: a certificate from our own CA, a password.
    ca = Ca(tmp_path, "ca")
    pem = ca.issue("worker", server=True)
    filled = {
        "caliper-processor-http-tls": {
            "tls.crt": Path(pem.cert).read_text(),
            "tls.key": Path(pem.key).read_text(),
            "ca.crt": Path(ca.pem.cert).read_text(),
        },
        "caliper-processor-http-auth": {"username": "prometheus", "password": "a-real-password-0"},
    }
    secrets = _secrets()
    for name, data in filled.items():
        assert set(data) == set(secrets[name]["stringData"]), name
        secrets[name]["stringData"] = data
    spec = _one(rendered, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    root = tmp_path / "mounts"
    root.mkdir()
    env = _worker_env(_container(rendered), volumes, secrets, root)
    assert {"CALIPER_HTTP_TLS_CERT", "CALIPER_HTTP_TLS_KEY", "CALIPER_HTTP_AUTH_USERNAME"} <= set(env)

    cfg = load(None, env={**env, "CALIPER_METRICS_PORT": "0", "CALIPER_HTTP_HOST": "127.0.0.1"})
    server = HttpServer.from_settings(cfg.http, lambda: b"up 1\n", HealthState()).start()
    try:
        assert server.tls and server.auth
        ctx = ssl.create_default_context(cafile=ca.pem.cert)
        auth = filled["caliper-processor-http-auth"]
        token = base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()
        for headers, expected in (({}, 401), ({"Authorization": f"Basic {token}"}, 200)):
            conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=5)
            conn.request("GET", "/metrics", headers=headers)
            assert conn.getresponse().status == expected
            conn.close()
    finally:
        server.stop()
