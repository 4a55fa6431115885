"""`transform --format avro -o FILE` writes an Avro object container file; `validate` reads it back.

The files are run through the real command line (a subprocess, as a user runs it) and read with
fastavro's own container reader; the envelopes must be exactly those of the JSON output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import fastavro
import orjson
import pytest

from processor.avro import codec
from processor.avro.files import CODECS, codec_problem
from processor.cli import main

SAMPLES = (resources.files("mappings") / "samples" / "canvas_events.jsonl").read_bytes()
UNMAPPED = orjson.dumps({"metadata": {"event_name": "no_such_event"}, "body": {}})
# the bundled samples, with an undecodable and an unmapped line among them (lines 4 and 7)
SAMPLE_LINES = [line for line in SAMPLES.splitlines() if line.strip()]
INPUT = b"\n".join([*SAMPLE_LINES[:3], b"not json", *SAMPLE_LINES[3:5], UNMAPPED, *SAMPLE_LINES[5:]]) + b"\n"


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "processor", *args], input=stdin, capture_output=True, timeout=120
    )


def canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def sent_apart(envelope: dict) -> bytes:
    """The envelope but its sendTime (the time of each run), which must still be a Caliper time."""
    envelope = dict(envelope)
    assert codec.time_to_millis(envelope.pop("sendTime")) > 0
    return canonical(envelope)


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_bytes(INPUT)
    return path


def _read(path: Path) -> tuple[str, dict, list[dict]]:
    with path.open("rb") as fh:
        reader = fastavro.reader(fh)
        return reader.codec, reader.metadata, [codec.from_record(r) for r in reader]


@pytest.mark.parametrize("name", CODECS)
def test_every_codec_round_trips_through_the_command_line(
    name: str, events_file: Path, tmp_path: Path
) -> None:
    problem = codec_problem(name)
    if problem:
        pytest.skip(problem)
    out = tmp_path / f"events-{name}.avro"
    avro = cli("transform", "--format", "avro", "--codec", name, "-o", str(out), str(events_file))
    as_json = cli("transform", str(events_file))
    assert avro.returncode == 0, avro.stderr
    assert avro.stdout == b""
    assert avro.stderr == as_json.stderr  # the same rejected lines, reported the same way
    assert [orjson.loads(line)["line"] for line in avro.stderr.splitlines()] == [4, 7]
    file_codec, metadata, envelopes = _read(out)
    assert file_codec == name
    assert metadata["caliper.mappings"] == "instructure"
    expected = [orjson.loads(line) for line in as_json.stdout.splitlines()]
    assert len(expected) == len(SAMPLE_LINES)
    assert [sent_apart(e) for e in envelopes] == [sent_apart(e) for e in expected]
    assert not list(tmp_path.glob("*.partial"))


def test_deflate_is_the_default_and_strict_extended_are_recorded(events_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "e.avro"
    done = cli(
        "transform",
        "--format",
        "avro",
        "--strict",
        "--mappings",
        "extended",
        "-o",
        str(out),
        str(events_file),
    )
    assert done.returncode == 0, done.stderr
    file_codec, metadata, envelopes = _read(out)
    assert file_codec == "deflate"
    assert (metadata["caliper.mappings"], metadata["caliper.form"]) == ("extended", "strict")
    assert len(envelopes) == len(SAMPLE_LINES)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "avro"], b"name it with -o FILE"),
        (["--format", "avro", "-o", "-"], b"name it with -o FILE"),
        (["--codec", "snappy"], b"--codec applies to --format avro only"),
        (["--format", "avro", "--codec", "lzma", "-o", "x.avro"], b"invalid choice: 'lzma'"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(args: list[str], message: bytes, events_file: Path) -> None:
    done = cli("transform", *args, str(events_file))
    assert done.returncode == 2
    assert message in done.stderr
    assert b"Traceback" not in done.stderr
    assert done.stdout == b""


def test_avro_is_never_written_to_a_terminal(events_file: Path) -> None:
    leader, follower = os.openpty()
    try:
        done = cli("transform", "--format", "avro", "-o", os.ttyname(follower), str(events_file))
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 2
    assert b"is a terminal" in done.stderr


def test_a_codec_without_its_library_is_a_usage_error(
    monkeypatch, capsys, events_file: Path, tmp_path
) -> None:
    import processor.avro.files as files

    monkeypatch.setattr(files, "codec_problem", lambda c: f"the Avro codec {c} needs cramjam")
    out = tmp_path / "x.avro"
    assert main(["transform", "--format", "avro", "--codec", "snappy", "-o", str(out), str(events_file)]) == 2
    assert "the Avro codec snappy needs cramjam" in capsys.readouterr().err
    assert not out.exists()


def test_unwritable_output_exits_1(events_file: Path, tmp_path: Path) -> None:
    done = cli(
        "transform", "--format", "avro", "-o", str(tmp_path / "no" / "such" / "dir.avro"), str(events_file)
    )
    assert done.returncode == 1
    assert b"cannot write" in done.stderr and b"Traceback" not in done.stderr


def test_help_explains_avro_files() -> None:
    done = cli("transform", "--help")
    text = b" ".join(done.stdout.split())
    for phrase in (
        b"--format avro -o FILE",
        b"Avro object container file",
        b"--codec",
        b"zstandard",
        b"snappy",
    ):
        assert phrase in text


@pytest.fixture
def strict_avro(events_file: Path, tmp_path: Path) -> Path:
    out = tmp_path / "strict.avro"
    assert cli("transform", "--strict", "--format", "avro", "-o", str(out), str(events_file)).returncode == 0
    return out


def test_validate_reads_avro_files_like_json_lines(
    events_file: Path, tmp_path: Path, strict_avro: Path
) -> None:
    default_avro, default_json = tmp_path / "default.avro", tmp_path / "default.jsonl"
    assert cli("transform", "--format", "avro", "-o", str(default_avro), str(events_file)).returncode == 0
    assert cli("transform", "-o", str(default_json), str(events_file)).returncode == 0
    ok = cli("validate", str(strict_avro))
    assert ok.returncode == 0, ok.stdout
    assert f"{len(SAMPLE_LINES)} envelopes, {len(SAMPLE_LINES)} valid".encode() in ok.stderr
    # Instructure's documented deviations: the same violations, on the same lines, as for the JSON
    from_avro, from_json = cli("validate", str(default_avro)), cli("validate", str(default_json))
    assert from_avro.returncode == from_json.returncode == 1
    assert from_avro.stdout == from_json.stdout and from_avro.stdout.startswith(b"line ")


def test_validate_knows_avro_by_its_magic_bytes_not_its_name(strict_avro: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "envelopes.jsonl"
    disguised.write_bytes(strict_avro.read_bytes())
    assert cli("validate", str(disguised)).returncode == 0
    assert cli("validate", "-", stdin=strict_avro.read_bytes()).returncode == 0


def _damaged(data: bytes) -> list[tuple[str, bytes]]:
    middle = bytearray(data)
    middle[len(data) // 2] ^= 0xFF
    return [
        ("header only", data[:10]),
        ("cut in the first block", data[: len(data) // 3]),
        ("cut before the last sync marker", data[:-5]),
        ("a flipped byte", bytes(middle)),
    ]


@pytest.mark.parametrize("case", range(4))
def test_validate_rejects_damaged_avro_files_in_one_line(
    case: int, strict_avro: Path, tmp_path: Path
) -> None:
    what, data = _damaged(strict_avro.read_bytes())[case]
    path = tmp_path / "damaged.avro"
    path.write_bytes(data)
    done = cli("validate", str(path))
    assert done.returncode != 0, what
    assert b"Traceback" not in done.stderr, what
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and "corrupt or truncated Avro container file" in lines[0], (what, lines)
    assert str(path) in lines[0]
