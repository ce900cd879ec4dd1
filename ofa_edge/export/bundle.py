"""The deploy bundle folder: written into a temporary sibling, then renamed into place.

A failed export leaves nothing behind; an existing bundle is replaced only once the new
one is complete. A folder that is not an ofa-edge bundle is never overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ofa_edge.io import check_output_folder, fsync_dir, umask

MANIFEST = "bundle.json"


def default_bundle_name(space: str, resolution: int, subnet_json: str, weights: Path, fmt: str) -> str:
    """``<space>-r<res>-<id>-<format>``: ``id`` (8 hex) hashes the subnet and the weights file it
    takes its weights from, so exporting another subnet (or the same one from another supernet, or
    a pruned network) never replaces an earlier bundle; re-exporting the same one does."""
    key = json.dumps([subnet_json, str(Path(weights).expanduser().absolute())])
    return f"{space}-r{resolution}-{hashlib.sha256(key.encode()).hexdigest()[:8]}-{fmt}"


def check_output_dir(out: str | Path) -> Path:
    """Fail early (before any work) if ``out`` cannot receive a bundle."""
    return check_output_folder(out, (MANIFEST,), "an ofa-edge bundle")


@contextlib.contextmanager
def staged_bundle(out: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes ``out``, on any error it is deleted."""
    out = check_output_dir(out)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    os.chmod(stage, 0o777 & ~umask())  # mkdtemp makes 0700; a bundle is meant to be shared
    try:
        yield stage
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.{os.getpid()}.old")
            os.replace(out, old)
        for f in stage.iterdir():  # the files the pipeline wrote, then the rename itself, made durable
            if f.is_file():
                with open(f, "rb") as handle:
                    os.fsync(handle.fileno())
        os.replace(stage, out)
        fsync_dir(out.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def file_digest(path: Path) -> dict[str, int | str]:
    """Size and SHA-256 of a file (for the manifest)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}


def list_files(folder: Path) -> dict[str, dict[str, int | str]]:
    """Every file under ``folder`` (relative POSIX paths) with its digest."""
    return {p.relative_to(folder).as_posix(): file_digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}
