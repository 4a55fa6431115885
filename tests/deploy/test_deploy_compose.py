"""The compose demo: valid against the Compose Specification's JSON schema (the copy vendored in
check-jsonschema, so no network), and consistent: every referenced service, file and port exists."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.deploy.deploy_support import COMPOSE_DIR, REPO, load_yaml_docs

COMPOSE = COMPOSE_DIR / "compose.yaml"


def _compose() -> dict:
    (doc,) = load_yaml_docs(COMPOSE)
    return doc


def _compose_schema() -> dict:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8"))


def _services() -> dict[str, dict]:
    return _compose()["services"]


def test_compose_file_matches_the_compose_specification() -> None:
    schema = _compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(_compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_schema_rejects_a_broken_compose_file() -> None:
    schema = _compose_schema()
    broken = _compose()
    broken["services"]["worker"]["replica"] = 2  # a typo of deploy.replicas
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_depends_on_names_existing_services_with_valid_conditions() -> None:
    services = _services()
    for name, service in services.items():
        deps = service.get("depends_on", {})
        items = deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps)
        for dep, spec in items:
            assert dep in services, f"{name} depends on unknown service {dep}"
            if spec:
                condition = spec["condition"]
                assert condition in {"service_started", "service_healthy", "service_completed_successfully"}
                if condition == "service_healthy":
                    assert "healthcheck" in services[dep] or dep in {"worker"}, f"{dep} has no healthcheck"


def _bind_sources() -> list[tuple[str, Path]]:
    out = []
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                out.append((name, (COMPOSE_DIR / source).resolve()))
    return out


def test_bind_mounts_exist_in_the_repository() -> None:
    sources = _bind_sources()
    assert sources
    for name, path in sources:
        assert path.exists(), f"{name} mounts {path}, which does not exist"
        assert REPO in path.parents or path == REPO, f"{name} mounts {path} from outside the repository"


def test_sample_events_file_is_in_the_mounted_folder() -> None:
    (samples_dir,) = [p for name, p in _bind_sources() if name == "samples"]
    command = " ".join(_services()["samples"]["command"])
    filename = re.search(r"/samples/([\w.-]+)", command).group(1)
    assert (samples_dir / filename).is_file(), f"{samples_dir / filename} is missing"


def test_worker_image_is_built_from_the_dockerfile() -> None:
    for name in ("topics", "worker"):
        build = _services()[name]["build"]
        context = (COMPOSE_DIR / build["context"]).resolve()
        assert context == REPO, f"{name} builds from {context}, not the repository root"
        assert (context / build["dockerfile"]).is_file()


def test_two_workers_in_one_group_after_the_topics_exist() -> None:
    worker = _services()["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["environment"]["CALIPER_GROUP_ID"]
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert "ports" not in worker, "replicas cannot share a host port"
    topics = _services()["topics"]
    assert topics["entrypoint"][:3] == ["caliper-processor", "topics", "create"]
    assert "--partitions" in topics["entrypoint"]


def _compose_config() -> dict:
    return tomllib.loads((COMPOSE_DIR / "config.toml").read_text(encoding="utf-8"))


def test_stop_grace_period_covers_the_workers_shutdown() -> None:
    grace = _services()["worker"]["stop_grace_period"]
    seconds = int(re.fullmatch(r"(\d+)s", grace).group(1))
    assert seconds >= _compose_config()["processor"]["shutdown_timeout_s"] + 5


def test_worker_accepts_the_compose_settings() -> None:
    config = pytest.importorskip("processor.config")
    cfg = config.load(COMPOSE_DIR / "config.toml", env=_services()["worker"]["environment"])
    assert cfg.bootstrap_servers() == "kafka:9092"
    assert cfg.http["port"] == 9464


def test_prometheus_scrapes_the_worker_service_on_its_metrics_port() -> None:
    (prom,) = load_yaml_docs(COMPOSE_DIR / "prometheus.yml")
    (job,) = [j for j in prom["scrape_configs"] if j["job_name"] == "caliper-processor"]
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["worker"] and "worker" in _services()
    assert sd["port"] == int(_services()["worker"]["environment"]["CALIPER_METRICS_PORT"])
    rules_mount = [v for v in _services()["prometheus"]["volumes"] if v.endswith("/etc/prometheus/rules:ro")]
    assert rules_mount and prom["rule_files"] == ["/etc/prometheus/rules/*.yaml"]


def test_grafana_provisioning_points_at_the_mounted_dashboards_and_prometheus() -> None:
    grafana = _services()["grafana"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in grafana["volumes"])
    provisioning = {v.removeprefix("/etc/grafana/provisioning/"): (COMPOSE_DIR / k).resolve()
                    for k, v in mounts.items() if v.startswith("/etc/grafana/provisioning/")}  # fmt: skip
    assert set(provisioning) == {"datasources", "dashboards"}
    (ds_doc,) = load_yaml_docs(provisioning["datasources"] / "prometheus.yaml")
    (ds,) = ds_doc["datasources"]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090"
    (dash_doc,) = load_yaml_docs(provisioning["dashboards"] / "caliper-processor.yaml")
    (provider,) = dash_doc["providers"]
    dash_dir = next(k for k, v in mounts.items() if v == provider["options"]["path"])
    assert list((COMPOSE_DIR / dash_dir).resolve().glob("*.json"))
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (COMPOSE_DIR / dash_dir / Path(home).name).is_file()
