"""The compose override for HTTPS and basic auth on the workers' HTTP port (metrics-tls.yaml), its
Prometheus config (prometheus-tls.yml) and the script that makes the demo certificate and password
(metrics-tls.sh): valid, in step with the plain files, and working together: the worker settings of
the override, with the files of the script, make a real server that Prometheus's scrape settings
reach and that refuses everyone else."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import socket
import ssl
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.deploy.deploy_support import COMPOSE_DIR, load_yaml_docs, promtool

OVERRIDE = COMPOSE_DIR / "metrics-tls.yaml"
SCRIPT = COMPOSE_DIR / "metrics-tls.sh"
PROM_TLS = COMPOSE_DIR / "prometheus-tls.yml"
SECRETS_DIR = "/run/secrets/"  # where Compose mounts a service's secrets


def _doc(path: Path) -> dict:
    (doc,) = load_yaml_docs(path)
    return doc


def _merged() -> dict:
    """compose.yaml with the override on top, merged the way Compose does for these keys: mappings
    key by key, `command` replaced, `volumes` and `secrets` appended."""
    base, over = _doc(COMPOSE_DIR / "compose.yaml"), _doc(OVERRIDE)
    for name, service in over["services"].items():
        target = base["services"][name]
        for key, value in service.items():
            if isinstance(value, dict):
                target[key] = {**target.get(key, {}), **value}
            elif key in ("volumes", "secrets"):
                target[key] = [*target.get(key, []), *value]
            else:
                target[key] = value
    base["secrets"] = {**base.get("secrets", {}), **over["secrets"]}
    return base


def _job(path: Path) -> dict:
    (job,) = [j for j in _doc(path)["scrape_configs"] if j["job_name"] == "caliper-processor"]
    return job


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed (metrics-tls.sh needs it)")
    out = tmp_path_factory.mktemp("metrics-tls")
    result = subprocess.run(["bash", str(SCRIPT), str(out)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return out


def _host_path(made: Path, compose: dict, container_path: str) -> Path:
    """The file the script made for a /run/secrets/<name> path."""
    name = container_path.removeprefix(SECRETS_DIR)
    return made / Path(compose["secrets"][name]["file"]).name


def test_override_and_merged_file_match_the_compose_specification() -> None:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8"))
    for doc in (_doc(OVERRIDE), _merged()):
        errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc))
        assert not errors, [e.message for e in errors]


def test_every_secret_is_defined_mounted_and_made_by_the_script(made: Path) -> None:
    compose = _merged()
    for service in compose["services"].values():
        for name in service.get("secrets", []):
            assert name in compose["secrets"], name
    for name, spec in compose["secrets"].items():
        assert spec["file"].startswith("./metrics-tls/"), (name, spec)  # the script's default folder
        assert (made / Path(spec["file"]).name).is_file(), f"metrics-tls.sh does not make {spec['file']}"
    env = compose["services"]["worker"]["environment"]
    for key in ("CALIPER_HTTP_TLS_CERT", "CALIPER_HTTP_TLS_KEY", "CALIPER_HTTP_AUTH_PASSWORD_FILE"):
        name = env[key].removeprefix(SECRETS_DIR)
        assert name in compose["services"]["worker"]["secrets"], key
    for path in (_job(PROM_TLS)["tls_config"]["ca_file"], _job(PROM_TLS)["basic_auth"]["password_file"]):
        assert path.removeprefix(SECRETS_DIR) in compose["services"]["prometheus"]["secrets"], path


def test_prometheus_tls_config_is_the_plain_one_plus_tls_and_auth() -> None:
    plain, tls = _doc(COMPOSE_DIR / "prometheus.yml"), _doc(PROM_TLS)
    job = _job(PROM_TLS)
    assert job["scheme"] == "https" and job["basic_auth"]["username"]
    for extra in ("scheme", "tls_config", "basic_auth"):
        job.pop(extra)
    jobs = tls["scrape_configs"]
    tls["scrape_configs"] = [job if j["job_name"] == "caliper-processor" else j for j in jobs]
    assert tls == plain
    over = _doc(OVERRIDE)["services"]["prometheus"]
    base = _doc(COMPOSE_DIR / "compose.yaml")["services"]["prometheus"]
    (config_flag,) = [f for f in over["command"] if f.startswith("--config.file=")]
    assert [f for f in over["command"] if f != config_flag] == [
        f for f in base["command"] if not f.startswith("--config.file=")
    ]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in over["volumes"]}
    assert (COMPOSE_DIR / mounted[config_flag.split("=", 1)[1]]).resolve() == PROM_TLS


def test_promtool_accepts_the_tls_scrape_config() -> None:
    # promtool rejects unknown fields (a misspelt password_file, tls_config key, scheme value); it
    # does not open the files, which the scrape test below does
    result = subprocess.run([promtool(), "check", "config", str(PROM_TLS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrape_settings_reach_the_worker_the_override_configures(made: Path) -> None:
    from processor.config import load
    from processor.health import HealthState, HttpServer

    compose = _merged()
    env = {
        k: str(_host_path(made, compose, v)) if str(v).startswith(SECRETS_DIR) else str(v)
        for k, v in compose["services"]["worker"]["environment"].items()
    }
    cfg = load(None, env={**env, "CALIPER_METRICS_PORT": "0", "CALIPER_HTTP_HOST": "127.0.0.1"})
    server = HttpServer.from_settings(cfg.http, lambda: b"up 1\n", HealthState()).start()
    job = _job(PROM_TLS)
    ctx = ssl.create_default_context(cafile=str(_host_path(made, compose, job["tls_config"]["ca_file"])))
    password_file = _host_path(made, compose, job["basic_auth"]["password_file"])
    password = password_file.read_text().strip()  # Prometheus trims the file, the worker one newline
    token = base64.b64encode(f"{job['basic_auth']['username']}:{password}".encode()).decode()

    def get(path: str, headers: dict[str, str]) -> int:
        # connect to the IP as Prometheus does, check the certificate against server_name
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        conn = http.client.HTTPSConnection(job["tls_config"]["server_name"], server.port, context=ctx)
        conn.sock = ctx.wrap_socket(raw, server_hostname=job["tls_config"]["server_name"])
        try:
            conn.request("GET", path, headers=headers)
            return conn.getresponse().status
        finally:
            conn.close()

    try:
        assert get("/metrics", {"Authorization": f"Basic {token}"}) == 200
        assert get("/metrics", {}) == 401
        assert get("/healthz", {}) == 200
    finally:
        server.stop()
