"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder. Nothing is half-written."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ofa_edge.errors import UserError


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and rename the result over ``path`` only if it succeeds."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"cannot write '{path}': it is a folder; pass the path of a file in it instead.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable across a power loss (POSIX; skipped where a folder cannot be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def umask() -> int:
    """The process's file-creation mask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text))


def atomic_write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def refuse_file(out: str | Path, what: str) -> None:
    """A :class:`UserError` if ``out``, the ``--out`` folder for ``what``, is an existing file."""
    if Path(out).exists() and not Path(out).is_dir():
        raise UserError(f"--out '{out}' is a file; pass a folder for {what}.")


def check_output_folder(out: str | Path, owned: Sequence[str], kind: str) -> Path:
    """``out`` as an absolute path, or a :class:`UserError` before any work if it cannot receive
    ``kind``: a file there, a non-empty folder holding none of the ``owned`` file names (somebody
    else's folder, never overwritten), or a parent that cannot be written."""
    out = Path(out).expanduser().absolute()
    refuse_file(out, kind)
    if out.is_dir() and any(out.iterdir()) and not any((out / name).is_file() for name in owned):
        raise UserError(
            f"output folder '{out}' is not empty and is not {kind}; refusing to overwrite it. "
            "Pass --out with a new or empty folder."
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as e:
        raise UserError(
            f"cannot write {kind} under '{out.parent}' ({e.strerror or e}); pass a writable --out."
        ) from None
    return out
