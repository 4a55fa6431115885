"""Shared by the deployment tests: repository paths, YAML loading, PromQL metric-name extraction, a
structural Dockerfile reader, and the metric names the worker promises (the contract the alert rules
and the dashboard are written against)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RULES_DIR = DEPLOY / "prometheus" / "rules"
RULE_TESTS_DIR = DEPLOY / "prometheus" / "tests"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "caliper-processor.json"
COMPOSE_DIR = DEPLOY / "compose"
K8S_DIR = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
OPERATIONS_MD = REPO / "docs" / "operations.md"

# The worker's metric families by type, as agreed between the worker and its deployment.
CONTRACT_METRICS: dict[str, str] = {
    "caliper_inputs_consumed_total": "counter",
    "caliper_envelopes_produced_total": "counter",
    "caliper_dead_letters_total": "counter",
    "caliper_unmapped_total": "counter",
    "caliper_skipped_total": "counter",
    "caliper_mapping_duration_seconds": "histogram",
    "caliper_end_to_end_lag_seconds": "histogram",
    "caliper_consumer_lag": "gauge",
    "caliper_rebalances_total": "counter",
    "caliper_in_flight_inputs": "gauge",
    "caliper_producer_queue_depth": "gauge",
    "caliper_produce_errors_total": "counter",
    "caliper_commits_total": "counter",
    "caliper_assigned_partitions": "gauge",
    "caliper_last_progress_timestamp_seconds": "gauge",
}
# The Canvas receiver's (`caliper-processor ingest`) families its alerts and dashboard row use.
INGEST_METRICS: dict[str, str] = {
    "caliper_ingest_requests_total": "counter",
    "caliper_ingest_request_duration_seconds": "histogram",
}
# prometheus-client's default process collector, which the dashboard's process row uses.
PROCESS_METRICS = {"process_cpu_seconds_total", "process_resident_memory_bytes"}
# Made by Prometheus itself for every scrape target.
SCRAPE_METRICS = {"up"}


def sample_names(family: str, kind: str) -> set[str]:
    """Every sample name one metric family exposes in the Prometheus text format."""
    if kind == "histogram":
        return {f"{family}_bucket", f"{family}_sum", f"{family}_count", f"{family}_created"}
    if kind == "summary":
        return {family, f"{family}_sum", f"{family}_count", f"{family}_created"}
    if kind == "counter":
        base = family.removesuffix("_total")
        return {f"{base}_total", f"{base}_created"}
    return {family}


def contract_sample_names(metrics: dict[str, str] | None = None) -> set[str]:
    names: set[str] = set()
    for family, kind in (CONTRACT_METRICS if metrics is None else metrics).items():
        names |= sample_names(family, kind)
    return names


def names_from_exposition(text: str) -> set[str]:
    """Sample names of a /metrics page: from its samples and, for families without samples yet
    (labelled metrics before their first label set), from the `# TYPE` lines."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(maxsplit=3)
            names |= sample_names(family, kind.strip())
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


# --- PromQL ----------------------------------------------------------------------------------------

_FUNCTION_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan", "atan2",
}  # fmt: skip
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_OFFSET = re.compile(r"\boffset\s+-?[0-9a-z$_]+")
_VARIABLE = re.compile(r"\$\{?\w+\}?")
_IDENT = re.compile(r"(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names one PromQL expression selects (functions, keywords, labels left out)."""
    text = _STRING.sub('""', expr)
    text = _VARIABLE.sub("1", text)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub("", text)
    text = _OFFSET.sub("", text)
    names: set[str] = set()
    for match in _IDENT.finditer(text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in _FUNCTION_WORDS or re.fullmatch(r"\d.*", word):
            continue
        names.add(word)
    return names


# --- files -----------------------------------------------------------------------------------------


def load_yaml_docs(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yaml"))


def rules() -> Iterator[dict]:
    for path in rule_files():
        for doc in load_yaml_docs(path):
            for group in doc["groups"]:
                yield from group["rules"]


def recorded_names() -> set[str]:
    return {r["record"] for r in rules() if "record" in r}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def dashboard_exprs() -> list[str]:
    """Every PromQL expression of the dashboard: panel targets and query variables."""
    out: list[str] = []

    def walk(panels: list[dict]) -> None:
        for panel in panels:
            out.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    dash = dashboard()
    walk(dash["panels"])
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = re.fullmatch(r"label_values\((.*),\s*\w+\)", query.strip())
        out.append(m.group(1) if m else query)
    return out


def rule_exprs() -> list[str]:
    return [r["expr"] for r in rules()]


def promtool() -> str:
    """Path of promtool; skipped when absent, except in CI (CI=true), where it must be installed."""
    path = shutil.which("promtool")
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("promtool is required in CI: apt-get install -y --no-install-recommends prometheus")
    pytest.skip("promtool not installed (Debian: apt-get install -y --no-install-recommends prometheus)")
    raise AssertionError("unreachable")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading (lower case, punctuation dropped, spaces -> -)."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def markdown_anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            anchors.add(github_anchor(line.lstrip("#")))
    return anchors


# --- Dockerfile ------------------------------------------------------------------------------------


@dataclass
class Stage:
    """One FROM ... [AS name] stage of the Dockerfile and its instructions (keyword, argument)."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """Instructions with line continuations joined and comments dropped (enough for our file)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arg = line.partition(" ")
            out.append((keyword.upper(), arg.strip()))
    return out


def dockerfile_stages() -> list[Stage]:
    """The Dockerfile's stages in order, each with its base image (build ARGs expanded)."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, arg in _dockerfile_instructions():
        if keyword == "ARG" and not stages and "=" in arg:
            k, v = arg.split("=", 1)
            args[k] = v
        elif keyword == "FROM":
            parts = arg.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif stages:
            stages[-1].instructions.append((keyword, arg))
    return stages


def healthcheck_command() -> list[str]:
    """The exec-form command of the final stage's HEALTHCHECK."""
    (healthcheck,) = dockerfile_stages()[-1].all("HEALTHCHECK")
    return json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
