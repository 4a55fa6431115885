"""pyproject.toml uses the SPDX license string, so setuptools prints no deprecation on install."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_license_is_an_spdx_string_and_setuptools_understands_it() -> None:
    data = tomllib.loads(PYPROJECT.read_text())
    assert data["project"]["license"] == "Apache-2.0"
    # the string form needs setuptools 77 or later (older ones reject it)
    assert "setuptools>=77" in data["build-system"]["requires"]
