"""Atomic writes of files and folders: all or nothing, with ordinary permissions, and what a kill leaves is undone."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys

import pytest

from ofa_edge.errors import UserError
from ofa_edge.io import (
    atomic_write,
    atomic_write_text,
    check_output_folder,
    check_work_dir,
    hold_lock,
    is_stage,
    read_consistent,
    recover_staged,
    staged_dir,
    staged_files,
    umask,
)
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


def _disk_full(_path) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # what a write on a full disk raises: no file named


def test_a_write_meeting_a_full_disk_names_the_users_path(tmp_path) -> None:
    """A full disk raised an OSError naming no file: the CLI called it an internal error (exit 1)."""
    target = tmp_path / "table.json"
    atomic_write_text(target, "old")
    with pytest.raises(OSError) as full:
        atomic_write(target, _disk_full)
    assert full.value.errno == errno.ENOSPC and full.value.filename == str(target)
    out = tmp_path / "bundle"
    with staged_dir(out) as stage:
        (stage / "bundle.json").write_text("old")
    with pytest.raises(OSError) as full, staged_dir(out) as stage:
        _disk_full(stage / "model.onnx")
    assert full.value.filename == str(out)
    with pytest.raises(OSError) as refused, staged_dir(out) as stage:
        (stage / "sub" / "model.onnx").write_bytes(b"")  # a path in the stage: the same path in the bundle
    assert isinstance(refused.value, FileNotFoundError) and refused.value.filename == str(out / "sub" / "model.onnx")
    assert target.read_text() == "old" and (out / "bundle.json").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["bundle", "table.json"]


def test_a_real_full_disk_keeps_the_old_file_and_leaves_no_lock_or_temp(full_disk, fill_disk) -> None:
    target = full_disk / "table.json"
    atomic_write_text(target, "old")
    fill_disk(8192)  # room for a lock, not for the table
    with pytest.raises(OSError) as full, hold_lock(full_disk / ".table.json.lock", "busy"):
        atomic_write_text(target, "x" * 65536)
    assert full.value.errno == errno.ENOSPC and full.value.filename == str(target)
    fill_disk(0)
    with pytest.raises(OSError) as full:
        hold_lock(full_disk / ".table.json.lock", "busy")  # the lock file is made, its process id cannot be written
    assert full.value.errno == errno.ENOSPC and full.value.filename == str(full_disk / ".table.json.lock")
    assert target.read_text() == "old" and sorted(os.listdir(full_disk)) == ["filler", "table.json"]


def test_the_work_folder_is_checked_before_any_work(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path / "a b" / "ü"))
    assert check_work_dir() == tmp_path / "a b" / "ü" and not (tmp_path / "a b").exists()  # made when written
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path / "afile" / "home"))
    with pytest.raises(UserError, match=r"'.*afile' is a file, not a folder.*set OFA_EDGE_HOME to a writable folder"):
        check_work_dir()


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


def test_staged_dir_renames_into_place_with_shared_permissions(tmp_path) -> None:
    out = tmp_path / "b"
    with staged_dir(out) as stage:
        assert stage.parent == tmp_path and stage != out
        (stage / "bundle.json").write_text("{}")
        (stage / "m.onnx").write_bytes(b"x")
    assert sorted(p.name for p in out.iterdir()) == ["bundle.json", "m.onnx"]
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask()  # readable by others, not mkdtemp's 0700


def test_checking_an_output_folder_creates_nothing_and_the_staged_write_makes_its_folders(tmp_path) -> None:
    """The check made --out's parents, which a command refusing a later option left behind, empty."""
    out = tmp_path / "a" / "b" / "c"
    assert check_output_folder(out, ("x.json",), "a test output") == out
    assert not (tmp_path / "a").exists()
    with staged_dir(out) as stage:
        (stage / "x.json").write_text("{}")
    assert (out / "x.json").read_text() == "{}"


def test_an_output_folder_under_a_file_is_refused_naming_the_file(tmp_path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match=r"\('.*/f' is a file, not a folder\); pass a writable --out\.$"):
        check_output_folder(tmp_path / "f" / "a" / "b", ("x.json",), "a test output")


def test_staged_dir_replaces_only_when_complete(tmp_path) -> None:
    out = tmp_path / "b"
    with staged_dir(out) as stage:
        (stage / "bundle.json").write_text("old")
    with pytest.raises(RuntimeError), staged_dir(out) as stage:
        (stage / "bundle.json").write_text("new")
        raise RuntimeError("export failed")
    assert (out / "bundle.json").read_text() == "old"
    with staged_dir(out) as stage:
        (stage / "bundle.json").write_text("new")
    assert (out / "bundle.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_ctrl_c_between_the_two_renames_puts_the_old_folder_back(tmp_path, monkeypatch) -> None:
    """The window where ``out`` is set aside and the stage not yet in place: the old folder returns."""
    out = tmp_path / "b"
    with staged_dir(out) as stage:
        (stage / "bundle.json").write_text("old")
    real_replace, calls = os.replace, []

    def interrupted_second_rename(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted_second_rename)
    with pytest.raises(KeyboardInterrupt), staged_dir(out) as stage:
        (stage / "bundle.json").write_text("new")
    monkeypatch.setattr(os, "replace", real_replace)
    assert (out / "bundle.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_what_a_killed_run_left_is_put_back_or_removed(tmp_path) -> None:
    """A SIGKILL between the renames leaves ``out`` set aside; one before them a stage: the next run
    puts the folder back and deletes the stage. A live process's stage is left alone."""
    out, dead = tmp_path / "b", _dead_pid()
    aside = tmp_path / f".b.{dead}.old"
    aside.mkdir()
    (aside / "bundle.json").write_text("old")
    (tmp_path / f".b.{dead}.x1y2.partial").mkdir()
    live = tmp_path / f".b.{os.getpid()}.z9.partial"
    live.mkdir()
    recover_staged(out)
    assert (out / "bundle.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["b", live.name])


def test_staged_dir_carries_the_files_it_is_told_to_keep(tmp_path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.safetensors").write_bytes(b"resume state")
    (out / "result.json").write_text("old run")
    with staged_dir(out, keep=lambda name: name == "checkpoint.safetensors") as stage:
        assert sorted(p.name for p in stage.iterdir()) == ["checkpoint.safetensors"]
        atomic_write_text(stage / "result.json", "new run")
    assert (out / "checkpoint.safetensors").read_bytes() == b"resume state"
    assert (out / "result.json").read_text() == "new run"


def test_staged_files_replace_their_namesakes_only_when_all_are_written(tmp_path) -> None:
    """Everything else in ``out`` (a user's file, a folder, the folder itself) stays as it is."""
    out = tmp_path / "s"
    with staged_files(out) as stage:
        (stage / "a.json").write_text("old")
    (out / "notes").mkdir()
    (out / "notes" / "n.txt").write_text("mine")
    folder = out.stat().st_ino
    with pytest.raises(OSError), staged_files(out) as stage:
        (stage / "a.json").write_text("new")
        _disk_full(stage / "b.png")
    assert (out / "a.json").read_text() == "old" and not (out / "b.png").exists()
    with staged_files(out) as stage:
        (stage / "a.json").write_text("new")
        (stage / "b.png").write_bytes(b"png")
    assert (out / "a.json").read_text() == "new" and (out / "b.png").read_bytes() == b"png"
    assert (out / "notes" / "n.txt").read_text() == "mine" and out.stat().st_ino == folder
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


def test_a_killed_writes_temp_file_is_deleted_by_the_next_write(tmp_path) -> None:
    target, dead = tmp_path / "table.json", _dead_pid()
    (tmp_path / f".table.json.{dead}.k3j.tmp").write_text('{"half": ')  # SIGKILL mid-write
    live = tmp_path / f".table.json.{os.getpid()}.q1.tmp"  # a write in progress (this process)
    live.write_text("")
    other = tmp_path / f".table.json.bak.{dead}.tmp"  # another file's temp
    other.write_text("")
    atomic_write_text(target, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, live.name, other.name])


def test_a_held_lock_refuses_a_second_holder_and_its_file_goes_when_released(tmp_path) -> None:
    path = tmp_path / ".table.json.lock"
    with hold_lock(path, "busy: process {pid}"), pytest.raises(UserError, match=f"busy: process {os.getpid()}$"):
        hold_lock(path, "busy: process {pid}")
    assert not path.exists()  # no .lock files left beside the tables
    with hold_lock(path, "busy"):
        assert path.read_text() == f"{os.getpid()}\n"
    busy = "another run (process {pid}) is writing 'runs/{a}b}'"  # braces in a path are the path's
    with hold_lock(path, busy), pytest.raises(UserError) as refused:
        hold_lock(path, busy)
    assert str(refused.value) == f"another run (process {os.getpid()}) is writing 'runs/{{a}}b}}'"


def test_a_lock_takes_away_the_folders_it_made_when_they_stay_empty(tmp_path) -> None:
    """A refused `profile --rescale` left an empty latency_tables folder behind its lock."""
    lock = tmp_path / "data" / "latency_tables" / ".x.json.lock"
    with hold_lock(lock, "busy"):
        pass  # refused before writing anything
    assert not (tmp_path / "data").exists()
    with hold_lock(lock, "busy"):
        (lock.parent / "x.json").write_text("{}")  # what the holder wrote stays, and its folders with it
    assert sorted(p.name for p in lock.parent.iterdir()) == ["x.json"]


def test_the_lock_of_a_killed_holder_is_free(tmp_path) -> None:
    path = tmp_path / ".table.json.lock"
    script = (
        "import time; from pathlib import Path; from ofa_edge.io import hold_lock\n"
        f"lock = hold_lock(Path({str(path)!r}), 'busy'); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(UserError, match=f"process {holder.pid}$"):
            hold_lock(path, "busy: process {pid}")
    finally:
        holder.kill()
        holder.wait()
    assert path.exists()  # a killed holder leaves its file, but not its lock
    with hold_lock(path, "busy"):
        assert path.read_text() == f"{os.getpid()}\n"
    busy = "another run (process {pid}) is writing 'runs/{a}b}'"  # braces in a path are the path's
    with hold_lock(path, busy), pytest.raises(UserError) as refused:
        hold_lock(path, busy)
    assert str(refused.value) == f"another run (process {os.getpid()}) is writing 'runs/{{a}}b}}'"


def test_staged_files_stage_inside_out_so_a_mount_point_out_takes_them(full_disk) -> None:
    """The stage lay beside ``out``: with ``out`` a mount point (a docker volume) it was on another disk, and the
    renames failed with EXDEV (Invalid cross-device link, exit 2) after the whole search."""
    with staged_files(full_disk) as stage:
        assert stage.parent == full_disk and is_stage(stage)
        (stage / "a.json").write_text("new")
    assert sorted(p.name for p in full_disk.iterdir()) == ["a.json"]


def test_a_failed_staged_files_leaves_no_out_it_made_and_a_killed_stage_is_no_users_file(tmp_path) -> None:
    out = tmp_path / "a" / "s"
    with pytest.raises(OSError), staged_files(out) as stage:
        _disk_full(stage / "b.png")
    assert list(tmp_path.iterdir()) == []
    out.mkdir(parents=True)
    (out / f".staged.{_dead_pid()}.k2.partial").mkdir()  # what a SIGKILL before the renames leaves
    assert check_output_folder(out, ("subnet.json",), "a search's output") == out  # not "somebody else's folder"
    with staged_files(out) as stage:
        (stage / "subnet.json").write_text("{}")
    assert [p.name for p in out.iterdir()] == ["subnet.json"]


def test_a_failed_first_staged_dir_leaves_no_parent_folders_it_made(tmp_path) -> None:
    """It made the missing parents of ``out`` and left them behind, empty, when the first write failed (those it
    did not make stay)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("mine")
    with pytest.raises(OSError), staged_dir(tmp_path / "a" / "b" / "c" / "bundle") as stage:
        _disk_full(stage / "model.onnx")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/notes.txt"]


def test_a_folder_replaced_whole_cannot_be_a_mount_point(full_disk) -> None:
    with pytest.raises(UserError, match=r"is a mount point, .* Pass a new folder inside it \(--out .*/NAME\)"):
        check_output_folder(full_disk, ("bundle.json",), "an ofa-edge bundle", replaced=True)
    assert check_output_folder(full_disk, ("bundle.json",), "a search's output") == full_disk  # its files: renamed in


def test_ctrl_c_during_the_renames_of_staged_files_waits_for_the_whole_set(tmp_path, monkeypatch) -> None:
    """A Ctrl-C (or SIGTERM) between two renames left the new subnet.json beside the old search.json."""
    out = tmp_path / "s"
    with staged_files(out) as stage:
        for name in ("subnet.json", "search.json"):
            (stage / name).write_text("old")
    real_replace = os.replace

    def interrupted(src, dst):
        real_replace(src, dst)
        os.kill(os.getpid(), signal.SIGINT)  # arrives after the first rename

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt), staged_files(out) as stage:
        for name in ("subnet.json", "search.json"):
            (stage / name).write_text("new")
    assert [(out / n).read_text() for n in ("subnet.json", "search.json")] == ["new", "new"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_folder_replaced_while_it_is_read_is_read_again(tmp_path) -> None:
    out = tmp_path / "p"
    for text in ("old", "new"):
        with staged_dir(out) as stage:
            (stage / "a.json").write_text(text)
            (stage / "b.bin").write_text(text)
    reads = []

    def read() -> tuple[str, str]:
        a = (out / "a.json").read_text()
        if not reads:  # a prune replaces the folder between the two reads
            with staged_dir(out) as stage:
                (stage / "a.json").write_text("newer")
                (stage / "b.bin").write_text("newer")
        reads.append(a)
        return a, (out / "b.bin").read_text()

    assert read_consistent(out, read) == ("newer", "newer") and reads == ["new", "newer"]

    def replaced_each_time() -> None:
        with staged_dir(out) as stage:
            (stage / "a.json").write_text("again")

    with pytest.raises(UserError, match="was replaced 3 times while it was read: another ofa-edge command"):
        read_consistent(out, replaced_each_time)
