"""Kubernetes manifests: built-in kinds validated against the Kubernetes OpenAPI schemas
(kubernetes-validate, offline); the CRDs it has no schema for (KEDA ScaledObject and
TriggerAuthentication, Prometheus Operator ServiceMonitor) checked field by field here; and the
values that must agree across files (names, labels, ports, topics, group, partitions) compared."""

from __future__ import annotations

import tomllib
from pathlib import Path

import kubernetes_validate
import pytest

from tests.deploy.deploy_support import COMPOSE_DIR, DOCKERFILE, K8S_DIR, load_yaml_docs

# The oldest Kubernetes minor we claim to support, and the newest the validator knows.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
CRD_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}
LABELS = {"app.kubernetes.io/name": "caliper-processor", "app.kubernetes.io/component": "worker"}


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


def _docs() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in _manifest_files() for doc in load_yaml_docs(path)]


def _one(kind: str, name: str | None = None) -> dict:
    found = [d for _, d in _docs() if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def _env_configmap() -> dict[str, str]:
    return _one("ConfigMap", "caliper-processor-env")["data"]


def _worker_container() -> dict:
    (container,) = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def _native_docs() -> list[tuple[Path, dict]]:
    return [(p, d) for p, d in _docs() if (d["apiVersion"], d["kind"]) not in CRD_KINDS]


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(
    ("path", "doc"), _native_docs(), ids=[f"{p.name}:{d['kind']}" for p, d in _native_docs()]
)
def test_native_manifest_matches_kubernetes_schema(path: Path, doc: dict, version: str) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


def test_schema_validation_can_fail() -> None:
    bad = {**_one("Deployment")}
    bad["spec"] = {**bad["spec"], "replicas": "two"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSIONS[-1], strict=True)


def test_every_document_is_a_known_kind() -> None:
    kinds = {(d["apiVersion"], d["kind"]) for _, d in _docs()}
    expected_native = {
        ("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "Service"),
        ("policy/v1", "PodDisruptionBudget"), ("v1", "Secret"), ("batch/v1", "Job"),
    }  # fmt: skip
    assert kinds == expected_native | CRD_KINDS


# --- CRDs, structurally ----------------------------------------------------------------------------


def test_scaledobject_structure() -> None:
    so = _one("ScaledObject")
    spec = so["spec"]
    assert spec["scaleTargetRef"]["name"] == _one("Deployment")["metadata"]["name"]
    assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    assert isinstance(spec["minReplicaCount"], int) and isinstance(spec["maxReplicaCount"], int)
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    # KEDA reads trigger metadata as a map of strings: a bare number or boolean is rejected.
    assert all(isinstance(v, str) for v in meta.values()), meta
    for key in ("bootstrapServers", "consumerGroup", "topic", "lagThreshold"):
        assert meta.get(key), f"kafka trigger needs {key}"
    assert int(meta["lagThreshold"]) > 0
    assert meta["offsetResetPolicy"] in {"earliest", "latest"}
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 300


def test_scaledobject_reads_the_group_and_topic_the_worker_uses() -> None:
    meta = _one("ScaledObject")["spec"]["triggers"][0]["metadata"]
    env = _env_configmap()
    assert meta["bootstrapServers"] == env["KAFKA_BOOTSTRAP_SERVERS"]
    assert meta["consumerGroup"] == env["CALIPER_GROUP_ID"]
    assert meta["topic"] == env["CALIPER_INPUT_TOPIC"]


def _partitions(args: list[str]) -> int:
    return int(args[args.index("--partitions") + 1])


def test_max_replicas_equal_the_input_partitions() -> None:
    job = _one("Job")["spec"]["template"]["spec"]["containers"][0]
    k8s_partitions = _partitions(job["command"] + job["args"])
    assert _one("ScaledObject")["spec"]["maxReplicaCount"] == k8s_partitions
    (compose,) = load_yaml_docs(COMPOSE_DIR / "compose.yaml")
    assert _partitions(compose["services"]["topics"]["entrypoint"]) == k8s_partitions


def test_trigger_authentication_refers_to_the_secret_template() -> None:
    auth = _one("TriggerAuthentication")
    secrets = {d["metadata"]["name"]: d for _, d in _docs() if d["kind"] == "Secret"}
    params = set()
    for ref in auth["spec"]["secretTargetRef"]:
        params.add(ref["parameter"])
        assert ref["key"] in secrets[ref["name"]]["stringData"], ref
    assert {"sasl", "username", "password"} <= params


def test_servicemonitor_scrapes_the_metrics_port_of_the_service() -> None:
    sm = _one("ServiceMonitor")
    service = _one("Service")
    assert sm["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    port_names = {p["name"] for p in service["spec"]["ports"]}
    for endpoint in sm["spec"]["endpoints"]:
        assert endpoint["port"] in port_names
        assert endpoint.get("path", "/metrics") == "/metrics"
    # The job label is the Service name; the alert rules select job="caliper-processor".
    assert service["metadata"]["name"] == "caliper-processor"


# --- agreement between the built-in kinds ----------------------------------------------------------


def test_selectors_match_the_pod_labels() -> None:
    deployment = _one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == LABELS
    assert LABELS.items() <= pod_labels.items()
    assert _one("Service")["spec"]["selector"].items() <= pod_labels.items()
    assert _one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_probes_use_the_worker_endpoints_on_the_metrics_port() -> None:
    container = _worker_container()
    port = int(_env_configmap()["CALIPER_METRICS_PORT"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == port
    assert _one("Service")["spec"]["ports"][0]["targetPort"] in ("metrics", port)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in ("metrics", port)


def _configmap_toml() -> dict:
    return tomllib.loads(_one("ConfigMap", "caliper-processor-config")["data"]["config.toml"])


def test_grace_period_covers_the_workers_shutdown() -> None:
    spec = _one("Deployment")["spec"]["template"]["spec"]
    shutdown = _configmap_toml()["processor"]["shutdown_timeout_s"]
    # Flush-and-commit time plus leaving the group and closing the clients.
    assert spec["terminationGracePeriodSeconds"] >= shutdown + 15


def test_config_file_is_mounted_where_the_args_point() -> None:
    container = _worker_container()
    path = container["args"][container["args"].index("--config") + 1]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert path in mounts and mounts[path]["subPath"] == "config.toml"
    volumes = {v["name"]: v for v in _one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts[path]["name"]]["configMap"]["name"] == "caliper-processor-config"


def test_worker_accepts_the_configmap_settings() -> None:
    config = pytest.importorskip("processor.config")
    env = dict(_env_configmap())
    path = Path(pytest.importorskip("tempfile").mkdtemp()) / "config.toml"
    path.write_text(_one("ConfigMap", "caliper-processor-config")["data"]["config.toml"], encoding="utf-8")
    cfg = config.load(path, env=env)
    assert cfg.processor["group_id"] == env["CALIPER_GROUP_ID"]
    assert cfg.topics["input"] == env["CALIPER_INPUT_TOPIC"]
    assert cfg.http["port"] == int(env["CALIPER_METRICS_PORT"])
    assert cfg.consumer_config()["session.timeout.ms"] == 45000


def test_secret_template_variables_become_librdkafka_properties() -> None:
    config = pytest.importorskip("processor.config")
    secret = _one("Secret", "caliper-processor-kafka")["stringData"]
    env = {k: v for k, v in secret.items() if k.startswith("CALIPER_")}
    cfg = config.load(None, env={"KAFKA_BOOTSTRAP_SERVERS": "broker.example.edu:9093", **env})
    conf = cfg.consumer_config()
    assert conf["security.protocol"] == secret["CALIPER_KAFKA_SECURITY_PROTOCOL"]
    assert conf["sasl.mechanism"] == secret["CALIPER_KAFKA_SASL_MECHANISM"]
    assert conf["sasl.username"] == secret["CALIPER_KAFKA_SASL_USERNAME"]
    assert conf["ssl.ca.location"].startswith("/etc/caliper-processor/tls/")
    mounts = {m["mountPath"] for m in _worker_container()["volumeMounts"]}
    assert "/etc/caliper-processor/tls" in mounts


def test_secrets_are_optional_for_the_worker() -> None:
    refs = [e["secretRef"] for e in _worker_container()["envFrom"] if "secretRef" in e]
    assert refs and all(r.get("optional") is True for r in refs)
    volumes = _one("Deployment")["spec"]["template"]["spec"]["volumes"]
    assert all(v["secret"].get("optional") is True for v in volumes if "secret" in v)


def test_pod_runs_as_the_images_non_root_user() -> None:
    spec = _one("Deployment")["spec"]["template"]["spec"]
    user = next(line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("USER "))
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert f"{spec['securityContext']['runAsUser']}:{spec['securityContext']['runAsGroup']}" == user
    sc = _worker_container()["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False


def test_rollout_never_surges_past_the_partitions() -> None:
    rolling = _one("Deployment")["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxSurge"] == 0 and rolling["maxUnavailable"] == 1
    assert _one("Service")["spec"]["publishNotReadyAddresses"] is True


def test_resources_are_set() -> None:
    resources = _worker_container()["resources"]
    for key in ("cpu", "memory"):
        assert resources["requests"][key]
    assert resources["limits"]["memory"]


# --- kustomize -------------------------------------------------------------------------------------


def test_kustomization_lists_existing_files_and_the_worker_image() -> None:
    (kust,) = load_yaml_docs(K8S_DIR / "kustomization.yaml")
    for resource in kust["resources"]:
        assert (K8S_DIR / resource).is_file(), resource
    assert "secret.example.yaml" not in kust["resources"]
    images = {i["name"] for i in kust["images"]}
    assert _worker_container()["image"] in images
    assert kust["namespace"]


def test_static_membership_component_sets_group_instance_id_from_the_pod_name() -> None:
    (component,) = load_yaml_docs(K8S_DIR / "static-membership" / "kustomization.yaml")
    assert component["kind"] == "Component"
    (patch_ref,) = component["patches"]
    (patch,) = load_yaml_docs(K8S_DIR / "static-membership" / patch_ref["path"])
    deployment = _one("Deployment")
    assert patch["kind"] == patch_ref["target"]["kind"] == "Deployment"
    assert patch["metadata"]["name"] == patch_ref["target"]["name"] == deployment["metadata"]["name"]
    (container,) = patch["spec"]["template"]["spec"]["containers"]
    assert container["name"] == _worker_container()["name"]
    (env,) = container["env"]
    assert env["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    # The worker reads CALIPER_CONSUMER_<PROP> as a librdkafka consumer property.
    config = pytest.importorskip("processor.config")
    cfg = config.load(None, env={env["name"]: "caliper-processor-7d9f-abcde"})
    assert cfg.consumer_config()["group.instance.id"] == "caliper-processor-7d9f-abcde"
