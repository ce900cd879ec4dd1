"""Atomic writes: all or nothing, with ordinary file permissions."""

from __future__ import annotations

import os

import pytest

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write, atomic_write_text
from ofa_edge.space import SearchSpace


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


def test_writing_over_a_folder_is_a_user_error_and_leaves_it_untouched(tmp_path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="it is a folder; pass the path of a file in it"):
        SearchSpace.get("mbv3-w1.0-cifar").min().save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
