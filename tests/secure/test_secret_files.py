"""Secrets read from files: CALIPER_<NAME>_FILE is the one way, the ingest secret included."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.config import ConfigError, load


def test_the_ingest_secret_comes_from_caliper_ingest_secret_file(tmp_path: Path) -> None:
    f = tmp_path / "secret"
    f.write_text("from-a-mounted-secret\n")
    cfg = load(env={"CALIPER_INGEST_SECRET_FILE": str(f)})
    assert cfg.ingest["secret"] == "from-a-mounted-secret"
    assert "from-a-mounted-secret" not in str(cfg.as_dict(mask=True))


def test_the_secret_and_its_file_together_are_refused_naming_both(tmp_path: Path) -> None:
    f = tmp_path / "secret"
    f.write_text("x" * 12)
    with pytest.raises(ConfigError, match=r"CALIPER_INGEST_SECRET and \$CALIPER_INGEST_SECRET_FILE"):
        load(env={"CALIPER_INGEST_SECRET": "y" * 12, "CALIPER_INGEST_SECRET_FILE": str(f)})
