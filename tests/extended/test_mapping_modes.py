"""The `mappings` switch: config, environment, command line, and the generated docs/mappings.md."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from mappings.docs import render
from processor.cli import main
from processor.config import ConfigError, load
from tests.mappings.canvas_builders import canvas_event

REPO = Path(__file__).resolve().parents[2]
MODULE_CREATED = orjson.dumps(canvas_event("module_created", {"module_id": "31", "name": "Week 1"})).decode()


def test_config_default_file_and_environment(tmp_path: Path) -> None:
    assert load(None, env={}).processor["mappings"] == "instructure"
    assert load(None, env={"CALIPER_PROCESSOR_MAPPINGS": "extended"}).processor["mappings"] == "extended"
    path = tmp_path / "c.toml"
    path.write_text('[processor]\nmappings = "extended"\n')
    assert load(path, env={}).processor["mappings"] == "extended"
    assert (
        load(path, env={"CALIPER_PROCESSOR_MAPPINGS": "instructure"}).processor["mappings"] == "instructure"
    )
    with pytest.raises(ConfigError, match=r"processor\.mappings"):
        load(None, env={"CALIPER_PROCESSOR_MAPPINGS": "all"})


def test_run_option_sets_the_mode(capsys) -> None:
    assert main(["run", "--mappings", "extended", "--print-config"]) == 0
    assert 'mappings = "extended"' in capsys.readouterr().out


def test_mappings_lists_82_in_extended_mode_and_32_by_default(capsys, monkeypatch) -> None:
    monkeypatch.delenv("CALIPER_PROCESSOR_MAPPINGS", raising=False)
    assert main(["mappings", "--mappings", "extended", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 82
    assert sum(row["mode"] == "extended" for row in rows) == 50
    assert main(["mappings", "--mappings", "extended"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("82 Canvas events mapped.")
    assert main(["mappings"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("32 Canvas events mapped.")
    monkeypatch.setenv("CALIPER_PROCESSOR_MAPPINGS", "extended")
    assert main(["mappings", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 82


def test_bad_environment_value_is_a_usage_error(capsys, monkeypatch) -> None:
    monkeypatch.setenv("CALIPER_PROCESSOR_MAPPINGS", "everything")
    with pytest.raises(SystemExit) as exit_:
        main(["mappings"])
    assert exit_.value.code == 2
    assert "CALIPER_PROCESSOR_MAPPINGS" in capsys.readouterr().err


def test_transform_maps_an_extended_event_only_with_the_option(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("CALIPER_PROCESSOR_MAPPINGS", raising=False)
    source = tmp_path / "in.jsonl"
    source.write_text(MODULE_CREATED + "\n")
    assert main(["transform", str(source)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and json.loads(captured.err)["stage"] == "unmapped"
    assert main(["transform", "--mappings", "extended", "--validate", "--strict", str(source)]) == 0
    captured = capsys.readouterr()
    event = json.loads(captured.out)["data"][0]
    assert captured.err == ""
    assert (event["type"], event["action"], event["object"]["id"]) == (
        "Event",
        "Created",
        "urn:instructure:canvas:module:31",
    )


def test_docs_mappings_is_current() -> None:
    path = REPO / "docs" / "mappings.md"
    assert path.read_text(encoding="utf-8") == render(), "docs/mappings.md is stale: run `make docs-mappings`"


def test_docs_mappings_has_a_row_per_canvas_event() -> None:
    rows = [line for line in render().splitlines() if line.startswith("| `")]
    assert len(rows) == 82
    cells = [row.split(" | ") for row in rows]
    assert sum(c[5] == "extended" for c in cells) == 50
    assert all(len(c) == 7 and all(part.strip() for part in c) for c in cells)
    grade = next(c for c in cells if c[0] == "| `course_grade_change`")
    assert grade[1:5] == ["GradeEvent", "Graded", "Attempt", "caliper.grading"]
