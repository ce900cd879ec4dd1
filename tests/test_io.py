"""Atomic writes: all or nothing, with ordinary file permissions."""

from __future__ import annotations

import os

import pytest

from ofa_edge.io import atomic_write, atomic_write_text


def test_failed_write_leaves_old_file_and_no_temp(tmp_path) -> None:
    target = tmp_path / "table.json"
    atomic_write_text(target, "old")

    def broken(p):
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["table.json"]


def test_written_file_follows_umask(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
