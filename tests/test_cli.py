"""The console script and `python -m processor` entry points."""

from __future__ import annotations

import subprocess
import sys

import pytest

from processor import __version__
from processor.cli import main


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"caliper-processor {__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: caliper-processor" in capsys.readouterr().err


def test_python_dash_m_is_the_same_program():
    out = subprocess.run(
        [sys.executable, "-m", "processor", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.startswith("usage: caliper-processor")
    for command in ("run", "transform", "validate", "mappings"):
        assert command in out, f"sub-command {command} missing from --help"
