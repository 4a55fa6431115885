"""The Dockerfile, read structurally (no Docker engine needed): a multi-stage build whose final
stage is a slim Python base, runs as a non-root user, has no build tools, checks /healthz with
Python, and starts `caliper-processor run`; its .dockerignore lets in exactly what is copied."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.deploy.deploy_support import DASHBOARD, DOCKERFILE, REPO, dockerfile_stages, healthcheck_command

DOCKERIGNORE = DOCKERFILE.with_name("Dockerfile.dockerignore")


def test_multi_stage_with_a_slim_python_final_stage() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    assert stages[-1].base == "python:3.12-slim"
    copies = stages[-1].all("COPY")
    build_names = {s.name for s in stages[:-1]}
    assert any(re.match(rf"--from=({'|'.join(filter(None, build_names))})\b", c) for c in copies)


def test_final_stage_runs_as_a_numeric_non_root_user() -> None:
    (user,) = dockerfile_stages()[-1].all("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_final_stage_has_no_build_tools() -> None:
    final = " ".join(dockerfile_stages()[-1].all("RUN")).lower()
    for tool in ("apt-get install", "gcc", "build-essential", "pip install", "curl", "wget"):
        assert tool not in final, f"final stage runs {tool!r}"


def test_healthcheck_probes_healthz_with_python() -> None:
    cmd = healthcheck_command()
    assert cmd[0] == "python" and cmd[1] == "-c"
    assert "/healthz" in cmd[2] and "CALIPER_METRICS_PORT" in cmd[2]
    compile(cmd[2], "healthcheck", "exec")  # the one-liner must at least be valid Python


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_healthcheck_passes_against_the_real_http_port_plain_and_tls(tmp_path, tls: bool) -> None:
    """The one-liner, run as Docker runs it, against the worker's own server: with TLS on
    (CALIPER_HTTP_TLS_CERT) it must speak HTTPS, or every TLS-enabled container turns unhealthy."""
    from processor.config import DEFAULTS
    from processor.health import HealthState, HttpServer
    from tests.worker.tls_support import Ca

    settings = {**DEFAULTS["http"], "host": "127.0.0.1", "port": 0}
    env = {"PATH": "/usr/bin:/bin"}
    if tls:
        pem = Ca(tmp_path).issue("worker", server=True)
        settings.update(tls_cert=pem.cert, tls_key=pem.key)
        env.update(CALIPER_HTTP_TLS_CERT=pem.cert, CALIPER_HTTP_TLS_KEY=pem.key)
    state = HealthState()
    server = HttpServer.from_settings(settings, lambda: b"", state).start()
    cmd = [sys.executable, *healthcheck_command()[1:]]
    try:
        env["CALIPER_METRICS_PORT"] = str(server.port)
        ok = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
        assert ok.returncode == 0, ok.stderr
        state.failed = "delivery failed"  # /healthz 503: the check must fail
        assert subprocess.run(cmd, env=env, capture_output=True, timeout=30).returncode != 0
    finally:
        server.stop()


def test_entrypoint_is_the_worker_in_exec_form() -> None:
    (entrypoint,) = dockerfile_stages()[-1].all("ENTRYPOINT")
    assert json.loads(entrypoint) == ["caliper-processor", "run"]


def test_metrics_port_is_exposed_and_defaulted() -> None:
    final = dockerfile_stages()[-1]
    assert "9464" in final.all("EXPOSE")
    assert any("CALIPER_METRICS_PORT=9464" in env for env in final.all("ENV"))


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; "!" re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(p, pat.replace("**/", "")) for p in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_admits_what_is_copied_and_nothing_heavy() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    build = dockerfile_stages()[0]
    sources = [arg.split()[:-1] for arg in build.all("COPY") if not arg.startswith("--from")]
    for group in sources:
        for source in group:
            source = source.rstrip("/")
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert not _ignored(source, patterns), f"COPY {source} is excluded by the .dockerignore"
    for heavy in (".venv/bin/python", ".git/HEAD", ".local-kafka/x", "tests/conftest.py", "deploy/x"):
        assert _ignored(heavy, patterns), f"{heavy} would be sent to the Docker daemon"
    assert _ignored("processor/__pycache__/x.pyc", patterns)


def test_dashboard_is_valid_json_with_unique_panel_ids() -> None:
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_build_context_builds_a_wheel_with_the_console_script_and_data(tmp_path) -> None:
    """What the build stage does, without Docker: copy what its COPY lines copy (as filtered by the
    .dockerignore) and build the package from it; the image depends on that wheel being complete."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    context = tmp_path / "context"
    build = dockerfile_stages()[0]
    for arg in build.all("COPY"):
        for source in arg.split()[:-1]:
            src = REPO / source.rstrip("/")
            for path in [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file()):
                rel = path.relative_to(REPO).as_posix()
                if not _ignored(rel, patterns):
                    (context / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, context / rel)
    assert not list(context.rglob("__pycache__"))
    out = tmp_path / "wheel"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(context)],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (wheel,) = out.glob("caliper_processor-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "caliper-processor = processor.cli:main" in entry_points
    assert "processor/commands/run.py" in names
    assert "mappings/samples/canvas_events.jsonl" in names
