"""`caliper-processor validate`: JSON Lines in, `line N: path: message` out, exit status."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from processor.cli import main
from tests.validator.validator_samples import envelope, event, navigation_envelope

GOOD = json.dumps(navigation_envelope())
THREAD = {"id": "urn:example:canvas:discussion:31", "type": "Thread"}
CREATED = json.dumps(envelope(event("ThreadEvent", "Created", THREAD)))  # documented deviation


def _bad_time() -> str:
    env = navigation_envelope()
    env["sendTime"] = "2025-10-02T09:30:16Z"
    env["data"][0]["action"] = "Viewed"
    return json.dumps(env)


def _write(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_valid_file_exits_0_with_summary(tmp_path, capsys):
    path = _write(tmp_path, "ok.jsonl", [GOOD, GOOD])
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "2 envelopes, 2 valid, 0 invalid" in err


def test_violations_are_printed_with_line_and_path(tmp_path, capsys):
    path = _write(tmp_path, "bad.jsonl", [GOOD, _bad_time(), "", GOOD])
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("line 2: sendTime: sendTime ")
    assert lines[1].startswith("line 2: data[0].action: action 'Viewed' is not allowed for NavigationEvent")
    assert "3 envelopes, 2 valid, 1 invalid (2 violations)" in err


def test_line_numbers_run_across_files_and_undecodable_lines_fail(tmp_path, capsys):
    first = _write(tmp_path, "a.jsonl", [GOOD, "{not json"])
    second = _write(tmp_path, "b.jsonl", [GOOD, CREATED])
    assert main(["validate", str(first), str(second)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("line 2: envelope: not valid JSON")
    assert lines[1].startswith("line 4: data[0].action: action 'Created'")
    assert len(lines) == 2
    assert "1 undecodable lines" in err


def test_undecodable_line_alone_exits_1(tmp_path, capsys):
    path = _write(tmp_path, "junk.jsonl", [GOOD, "\x00garbage"])
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().out.startswith("line 2: envelope: not valid JSON")


def test_tolerant_accepts_documented_deviation(tmp_path, capsys):
    path = _write(tmp_path, "compat.jsonl", [CREATED])
    assert main(["validate", str(path)]) == 1
    capsys.readouterr()
    assert main(["validate", "--tolerant", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "(tolerant)" in err


def test_gzip_file(tmp_path, capsys):
    path = tmp_path / "envelopes.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(GOOD + "\n" + _bad_time() + "\n")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("line 2: sendTime:")


def test_gzip_recognised_by_content_not_name(tmp_path, capsys):
    path = tmp_path / "envelopes.data"
    path.write_bytes(gzip.compress((GOOD + "\n").encode()))
    assert main(["validate", str(path)]) == 0


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("args", [[], ["-"]])
def test_stdin(args):
    proc = subprocess.run(
        [sys.executable, "-m", "processor", "validate", *args],
        input=(GOOD + "\n" + CREATED + "\n").encode(),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout.decode().startswith("line 2: data[0].action:")
    assert "2 envelopes, 1 valid, 1 invalid" in proc.stderr.decode()


def test_stdin_gzip():
    proc = subprocess.run(
        [sys.executable, "-m", "processor", "validate", "--tolerant"],
        input=gzip.compress((GOOD + "\n" + CREATED + "\n").encode()),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout
    assert "2 envelopes, 2 valid" in proc.stderr.decode()


def test_help_lists_tolerated_deviations(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for words in (
        "--tolerant",
        "ThreadEvent with action Created",
        "line N: PATH: MESSAGE",
        "gzip",
        "Exit status",
    ):
        assert words in out


def test_a_reader_that_goes_away_is_not_a_read_error(tmp_path):
    """`validate big.jsonl | head -1`: the closed pipe ends the run quietly, as invalid (exit 1)."""
    path = _write(tmp_path, "bad.jsonl", [_bad_time()] * 20000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", "validate", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline().startswith(b"line 1: ")
    proc.stdout.close()  # the reader is gone
    _, err = proc.communicate(timeout=60)
    assert b"cannot read" not in err, err
    assert b"Traceback" not in err, err
    assert proc.returncode == 1
