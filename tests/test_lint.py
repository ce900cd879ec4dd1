"""The code stays lint-clean and formatted (ruff, configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff(args: list[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "."], check=False, cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, (
        f"ruff {' '.join(args)} failed (fix with `ruff check --fix . && ruff format .`):\n{run.stdout}{run.stderr}"
    )
