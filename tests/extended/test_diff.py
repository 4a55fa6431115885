"""`caliper-processor diff A B` on Instructure's documented pairs and on hand-made streams."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

from mappings.transform import Transformer
from processor.cli import main
from tests.conftest import shared_dir

# SOURCES.md: the documented pairs whose two examples describe different events (the Canvas
# assignment_override_updated example is another override than its Caliper one).
DIFFERENT_EVENTS = {
    "course_updated",
    "discussion_topic_created",
    "enrollment_updated",
    "enrollment_state_updated",
    "wiki_page_created",
    "wiki_page_updated",
    "user_account_association_created",
    "submission_updated",
    "assignment_override_created",
    "assignment_override_updated",
}


def _payloads(folder: str, name: str) -> list[dict]:
    doc = json.loads((shared_dir("canvas-docs", folder) / f"{name}.json").read_text())
    return [example["payload"] for example in doc["examples"]]


def _write(path: Path, items: list[dict]) -> str:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return str(path)


def _diff(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["diff", "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def _names() -> list[str]:
    return sorted(path.stem for path in shared_dir("canvas-docs", "caliper").glob("*.json"))


def test_documented_pairs(tmp_path: Path, capsys) -> None:
    transformer = Transformer()
    names = _names()
    assert len(names) == 32
    for name in names:
        theirs = _payloads("caliper", name)
        ours = [transformer.transform_obj(p).envelope for p in _payloads("canvas", name)]
        a = _write(tmp_path / f"{name}.instructure.jsonl", theirs)
        b = _write(tmp_path / f"{name}.ours.jsonl", ours)
        code, result = _diff(capsys, a, b)
        totals = result["totals"]
        if name in DIFFERENT_EVENTS:
            # different events: their pairing keys differ, so each stays on its own side
            assert code == 1 and totals == {"matched": 0, "differ": 0, "only_a": 1, "only_b": 1}, name
            code, result = _diff(capsys, "--pair-leftovers", a, b)
            group = result["groups"][0]
            assert code == 1 and result["totals"]["differ"] == 1, name  # reported as differing
            assert "object.id" in group["paths"] or "eventTime" in group["paths"], name
        else:
            assert code == 0 and result["equal"], (name, result)
            assert totals == {"matched": len(theirs), "differ": 0, "only_a": 0, "only_b": 0}, name
            assert _diff(capsys, "--pair-leftovers", a, b)[0] == 0, name


def _instructure(name: str) -> dict:
    return _payloads("caliper", name)[0]


def test_differing_fields_are_counted_by_path(tmp_path: Path, capsys) -> None:
    a_events = [_instructure("wiki_page_deleted"), _instructure("logged_in"), _instructure("logged_out")]
    b_events = copy.deepcopy(a_events)
    b_events[0]["data"][0]["object"]["name"] = "Renamed"
    b_events[0]["data"][0]["object"]["extensions"]["com.instructure.canvas"]["new_field"] = 1
    b_events[1]["data"][0]["object"]["extensions"] = {"com.instructure.canvas": {"redirect_url": "/x"}}
    b_events[2]["data"][0]["id"] = "urn:uuid:00000000-0000-4000-8000-000000000000"  # ignored
    b_events[2]["sendTime"] = "2030-01-01T00:00:00.000Z"  # ignored
    code, result = _diff(capsys, _write(tmp_path / "a", a_events), _write(tmp_path / "b", b_events))
    assert code == 1
    groups = {(g["type"], g["action"]): g for g in result["groups"]}
    assert groups[("Event", "Deleted")]["differ"] == 1
    assert groups[("Event", "Deleted")]["paths"] == {
        "object.name": 1,
        'object.extensions["com.instructure.canvas"].new_field': 1,
    }
    assert groups[("SessionEvent", "LoggedIn")]["paths"] == {
        'object.extensions["com.instructure.canvas"].redirect_url': 1
    }
    assert groups[("SessionEvent", "LoggedOut")]["matched"] == 1
    assert result["totals"] == {"matched": 1, "differ": 2, "only_a": 0, "only_b": 0}


def test_one_sided_events_and_text_report(tmp_path: Path, capsys) -> None:
    login = _instructure("logged_in")
    other = copy.deepcopy(login)
    other["data"][0]["eventTime"] = "2019-11-01T00:00:00.000Z"  # another event: another key
    a = tmp_path / "a.jsonl.gz"
    with gzip.open(a, "wt") as fh:
        fh.write(json.dumps(login) + "\n\n" + json.dumps(login) + "\n")
    b = _write(tmp_path / "b.jsonl", [login, other])
    code = main(["diff", str(a), b])
    out = capsys.readouterr().out
    assert code == 1
    assert "SessionEvent LoggedIn: 1 match, 0 differ, 1 only in A, 1 only in B" in out
    assert out.rstrip().endswith("total: 1 match, 0 differ, 1 only in A, 1 only in B")


def test_numbers_compare_by_value_but_booleans_are_not_numbers(tmp_path: Path, capsys) -> None:
    grade = _instructure("grade_change")
    same, flag = copy.deepcopy(grade), copy.deepcopy(grade)
    score = same["data"][0]["generated"]
    score["scoreGiven"] = float(score["scoreGiven"])
    code, _ = _diff(capsys, _write(tmp_path / "a", [grade]), _write(tmp_path / "b", [same]))
    assert code == 0
    flag["data"][0]["generated"]["scoreGiven"] = True
    grade["data"][0]["generated"]["scoreGiven"] = 1
    code, result = _diff(capsys, _write(tmp_path / "a", [grade]), _write(tmp_path / "b", [flag]))
    assert code == 1 and result["groups"][0]["paths"] == {"generated.scoreGiven": 1}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", "a.jsonl line 1: not JSON"),
        ('{"sensor": "x"}\n{"data": 3}\n', "a.jsonl line 1: neither a Caliper envelope"),
        ('{"data": [1]}\n', "a.jsonl line 1: data[0] is not an event object"),
        ("[1, 2]\n", "a.jsonl line 1: expected a Caliper envelope"),
    ],
)
def test_bad_lines_are_clear_errors(tmp_path: Path, capsys, content: str, message: str) -> None:
    a = tmp_path / "a.jsonl"
    a.write_text(content)
    assert main(["diff", str(a), str(a)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("caliper-processor diff: ")


def test_unreadable_file(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "missing.jsonl"
    assert main(["diff", str(missing), str(missing)]) == 2
    assert f"cannot read {missing}" in capsys.readouterr().err


def test_pair_leftovers_pairs_what_is_left_on_both_sides(tmp_path: Path, capsys) -> None:
    login = _instructure("logged_in")
    later, extra = copy.deepcopy(login), copy.deepcopy(login)
    later["data"][0]["eventTime"] = "2019-11-01T00:00:01.000Z"
    extra["data"][0]["eventTime"] = "2019-11-01T00:00:02.000Z"
    a = _write(tmp_path / "a", [login, extra, login])
    b = _write(tmp_path / "b", [later, login])
    code, result = _diff(capsys, "--pair-leftovers", a, b)
    group = result["groups"][0]
    assert code == 1
    assert (group["matched"], group["differ"], group["only_a"], group["only_b"]) == (1, 1, 1, 0)
    assert group["paths"] == {"eventTime": 1}
