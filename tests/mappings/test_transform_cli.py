"""`caliper-processor transform` and `caliper-processor mappings`: the line contracts."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from processor.cli import main
from tests.mappings.canvas_builders import canvas_event

GOOD = orjson.dumps(canvas_event("wiki_page_created", {"wiki_page_id": "8801", "title": "Limits"})).decode()
GOOD2 = orjson.dumps(canvas_event("logged_out", {})).decode()
UNMAPPED = orjson.dumps(canvas_event("module_created", {"module_id": "31"})).decode()
BAD_TIME = orjson.dumps(canvas_event("wiki_page_created", {"wiki_page_id": "1"}, event_time="soon")).decode()


def _run(capsys, argv) -> tuple[int, list[dict], list[dict]]:
    code = main(argv)
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    err = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    return code, out, err


def test_lines_in_order_and_errors_numbered_across_files(tmp_path, capsys) -> None:
    first = tmp_path / "a.jsonl"
    first.write_text("\n".join([GOOD, "not json", UNMAPPED]) + "\n")
    second = tmp_path / "b.jsonl.gz"
    with gzip.open(second, "wt") as fh:
        fh.write("\n".join([BAD_TIME, "", GOOD2, '{"body": {}}']) + "\n")
    code, out, err = _run(capsys, ["transform", str(first), str(second)])
    assert code == 0
    assert [e["data"][0]["action"] for e in out] == ["Created", "LoggedOut"]
    assert err == [
        {"line": 2, "stage": "decode", "reason": err[0]["reason"]},
        {"line": 3, "stage": "unmapped", "reason": "no mapping registered for event_name 'module_created'"},
        {"line": 4, "stage": "map", "reason": "metadata.event_time: unparseable timestamp 'soon'"},
        {"line": 7, "stage": "unwrap", "reason": "no 'metadata' (or 'attributes') object in the input"},
    ]
    for envelope in out:
        assert set(envelope) == {"sensor", "sendTime", "dataVersion", "data"}


def test_gzip_detected_by_magic_bytes_without_suffix(tmp_path, capsys) -> None:
    path = tmp_path / "events.dat"
    path.write_bytes(gzip.compress((GOOD + "\n").encode()))
    code, out, err = _run(capsys, ["transform", str(path)])
    assert (code, len(out), err) == (0, 1, [])


def test_strict_flag(tmp_path, capsys) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        orjson.dumps(canvas_event("discussion_topic_created", {"discussion_topic_id": "5"})).decode()
    )
    _, default, _ = _run(capsys, ["transform", str(path)])
    _, strict, _ = _run(capsys, ["transform", "--strict", str(path)])
    assert default[0]["data"][0]["type"] == "ThreadEvent"
    assert strict[0]["data"][0]["type"] == "Event"
    assert default[0]["data"][0]["id"] == strict[0]["data"][0]["id"]


def test_validate_flag_reports_stage_validate(tmp_path, capsys) -> None:
    pytest.importorskip("mappings.validator")
    path = tmp_path / "t.jsonl"
    path.write_text(GOOD + "\n")
    code, out, err = _run(capsys, ["transform", "--validate", "--strict", str(path)])
    assert (code, len(out), err) == (0, 1, [])


def test_unreadable_file_exits_non_zero_but_processes_the_others(tmp_path, capsys) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(GOOD + "\n")
    code = main(["transform", str(tmp_path / "missing.jsonl"), str(good)])
    captured = capsys.readouterr()
    assert code == 1
    assert len(captured.out.splitlines()) == 1
    assert "missing.jsonl" in captured.err


def test_corrupt_gzip_is_an_unreadable_file(tmp_path, capsys) -> None:
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    assert main(["transform", str(path)]) == 1
    assert "broken.jsonl.gz" in capsys.readouterr().err


def test_stdin_via_subprocess() -> None:
    stdin = "\n".join([GOOD, UNMAPPED, GOOD2]) + "\n"
    proc = subprocess.run(
        [sys.executable, "-m", "processor", "transform"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 2
    assert [json.loads(line)["line"] for line in proc.stderr.splitlines()] == [2]


def test_usage_error_exit_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "processor", "transform", "--no-such-flag"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2


def test_help_states_the_unmapped_stage(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["transform", "--help"])
    text = capsys.readouterr().out
    assert "unmapped" in text and "examples:" in text and "--strict" in text


def test_mappings_table_and_json(capsys) -> None:
    assert main(["mappings"]) == 0
    table = capsys.readouterr().out
    assert "asset_accessed" in table and "NavigationEvent" in table and "NavigatedTo" in table
    assert "32 Canvas events mapped." in table
    row = next(line for line in table.splitlines() if line.startswith("discussion_topic_created"))
    assert row.split() == ["discussion_topic_created", "ThreadEvent", "Created", "forum", "Event"]
    assert main(["mappings", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 32
    grade = next(r for r in rows if r["event_name"] == "grade_change")
    assert (grade["caliper_type"], grade["action"], grade["profile"]) == ("GradeEvent", "Graded", "grading")


def test_closed_stdout_is_not_an_error(tmp_path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text((GOOD + "\n") * 20000)
    proc = subprocess.run(
        f"{sys.executable} -m processor transform {path} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.count("\n") == 1
    assert "Broken pipe" not in proc.stderr and "Traceback" not in proc.stderr


def test_mixed_fixture_file(capsys) -> None:
    """fixtures/mixed_inputs.jsonl: three wrappers, a blank line, and one of each failure stage."""
    path = Path(__file__).parent / "fixtures" / "mixed_inputs.jsonl"
    code, out, err = _run(capsys, ["transform", str(path)])
    assert code == 0
    assert [(e["data"][0]["type"], e["data"][0]["eventTime"]) for e in out] == [
        ("SessionEvent", "2026-10-02T08:00:00.000Z"),
        ("Event", "2026-10-02T08:00:00.000Z"),
        ("AssessmentEvent", "2026-10-02T13:02:00.500Z"),
    ]
    wiki = out[1]["data"][0]
    assert wiki["membership"]["roles"] == ["Instructor#TeachingAssistant"]
    assert wiki["object"]["id"] == "urn:instructure:canvas:wikiPage:8801"
    quiz = out[2]["data"][0]
    assert quiz["actor"]["extensions"]["com.instructure.canvas"] == {
        "entity_id": "20005",
        "real_user_id": "20001",
    }
    assert [(e["line"], e["stage"]) for e in err] == [
        (4, "unmapped"),
        (6, "decode"),
        (7, "map"),
        (8, "unwrap"),
    ]
    assert "body.due_at" in err[2]["reason"]
