"""The Avro schema ships in the package: a wheel built from the project holds caliper-envelope.avsc,
without which `caliper-processor schema`, Avro topics and Avro files fail on any real install."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_carries_the_schema(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("caliper_processor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "processor/avro/caliper-envelope.avsc" in names
    assert "mappings/samples/canvas_events.jsonl" in names
