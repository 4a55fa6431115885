"""Apache Avro's own reader (avro-tools, Java) decodes `transform --format avro` files into the
envelopes of the JSON output: the files are standard Avro, not something only fastavro reads.

avro-tools comes from Maven Central through deploy/avro-tools/avro-tools.sh (run here when the jar
is not cached yet; .ci/run fetches it up front). The test skips only when there is no Java.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from processor.avro import codec
from processor.avro.files import CODECS, codec_problem
from processor.avro.schema import load_schema

REPO = Path(__file__).resolve().parents[2]
AVRO_TOOLS = REPO / "deploy" / "avro-tools" / "avro-tools.sh"
SAMPLES = REPO / "mappings" / "samples" / "canvas_events.jsonl"


@pytest.fixture(scope="module")
def avro_tools() -> Path:
    if shutil.which("java") is None:
        pytest.skip("java is not installed: avro-tools (Apache Avro's Java reader) cannot run")
    done = subprocess.run([str(AVRO_TOOLS), "jar"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"fetching avro-tools failed: {done.stderr[-2000:]}"
    return Path(done.stdout.strip())


def _tool(jar: Path, *args: str) -> str:
    done = subprocess.run(
        ["java", "-Xmx256m", "-jar", str(jar), *args], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _transform(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "processor", "transform", *args, str(SAMPLES)],
        capture_output=True,
        timeout=120,
    )


def _without_send_time(envelope: dict) -> bytes:
    envelope = dict(envelope)
    del envelope["sendTime"]  # the time of each run
    return orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, form",
    [
        ("null", ["--mappings", "extended"]),
        ("deflate", []),
        ("zstandard", ["--strict"]),
        ("snappy", ["--mappings", "extended", "--strict"]),
    ],
)
def test_avro_tools_reads_the_envelopes_back(
    avro_tools: Path, tmp_path: Path, name: str, form: list[str]
) -> None:
    assert name in CODECS
    problem = codec_problem(name)
    if problem:
        pytest.skip(problem)
    out = tmp_path / "events.avro"
    assert _transform(*form, "--format", "avro", "--codec", name, "-o", str(out)).returncode == 0
    expected = [orjson.loads(line) for line in _transform(*form).stdout.splitlines()]
    records = [json.loads(line) for line in _tool(avro_tools, "tojson", str(out)).splitlines()]
    assert len(records) == len(expected) > 30
    decoded = [codec.from_avro_json(r) for r in records]
    assert [_without_send_time(e) for e in decoded] == [_without_send_time(e) for e in expected]
    for ours, theirs in zip(decoded, expected, strict=True):
        assert codec.time_to_millis(ours["sendTime"]) == pytest.approx(
            codec.time_to_millis(theirs["sendTime"]), abs=60_000
        )


@pytest.mark.slow
def test_avro_tools_finds_the_shipped_schema_and_codec_in_the_header(
    avro_tools: Path, tmp_path: Path
) -> None:
    out = tmp_path / "events.avro"
    assert _transform("--format", "avro", "-o", str(out)).returncode == 0
    assert json.loads(_tool(avro_tools, "getschema", str(out))) == load_schema()
    meta = _tool(avro_tools, "getmeta", str(out))
    assert "avro.codec\tdeflate" in meta
    assert "caliper.mappings\tinstructure" in meta
