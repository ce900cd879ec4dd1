"""Shared fixtures: the real packed CIFAR-10 (small subsets) and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ofa_edge.data import DEFAULT_ROOT

DATA_ROOT = Path(os.environ.get("OFA_EDGE_TEST_DATA", DEFAULT_ROOT))


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA_ROOT / "train.jpg.bin").is_file():
        pytest.fail(f"CIFAR-10 packed data not found at {DATA_ROOT}; set OFA_EDGE_TEST_DATA")
    return DATA_ROOT


@pytest.fixture(scope="session")
def cifar_test_small(data_root):
    from ofa_edge.data import load_packed

    return load_packed(data_root, "test", limit=256, seed=0)


@pytest.fixture()
def cli(capsys):
    """Run ``ofa-edge ARGS`` in-process; returns (exit code, stdout, stderr)."""
    from ofa_edge.cli.app import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
