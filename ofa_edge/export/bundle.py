"""The deploy bundle folder: its name, its manifest's digests, and where one may be written.

The bundle is written with :func:`ofa_edge.io.staged_dir` (a temporary sibling renamed into place):
a failed export leaves nothing behind; an existing bundle is replaced only once the new one is
complete. A folder that is not an ofa-edge bundle is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ofa_edge.errors import ConfigError, UserError
from ofa_edge.export.formats import option_name
from ofa_edge.io import check_output_folder, file_sha256
from ofa_edge.paths import embedded_supernet
from ofa_edge.space import SubnetConfig

MANIFEST = "bundle.json"


def default_bundle_name(space: str, resolution: int, subnet_json: str, weights: Path, fmt: str) -> str:
    """``<space>-r<res>-<id>-<format>``: ``id`` (8 hex) hashes the subnet and the weights file it
    takes its weights from, so exporting another subnet (or the same one from another supernet, or
    a pruned network) never replaces an earlier bundle; re-exporting the same one does."""
    key = json.dumps([subnet_json, str(Path(weights).expanduser().absolute())])
    return f"{space}-r{resolution}-{hashlib.sha256(key.encode()).hexdigest()[:8]}-{fmt}"


def check_output_dir(out: str | Path) -> Path:
    """Fail early (before any work) if ``out`` cannot receive a bundle."""
    return check_output_folder(out, (MANIFEST,), "an ofa-edge bundle", replaced=True)


def replaced_bundle_note(out: str | Path, subnet: dict[str, Any] | None) -> str | None:
    """What an export into ``out`` replaces: the bundle there, said to be of another subnet (or a pruned
    network) when its manifest's ``subnet`` differs from ``subnet``; ``None`` where there is none."""
    manifest = Path(out) / MANIFEST
    if not manifest.is_file():
        return None
    try:
        old = json.loads(manifest.read_text()).get("subnet")
    except (OSError, ValueError, AttributeError):
        old = None
    other = " (of another subnet)" if old != subnet else ""
    return f"replacing the bundle in {out}{other}"


def file_digest(path: Path) -> dict[str, int | str]:
    """Size and SHA-256 of a file (for the manifest)."""
    return {"bytes": path.stat().st_size, "sha256": file_sha256(path)}


def list_files(folder: Path) -> dict[str, dict[str, int | str]]:
    """Every file under ``folder`` (relative POSIX paths) with its digest."""
    return {p.relative_to(folder).as_posix(): file_digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def bundle_supernet(subnet_file: str | Path, cfg: SubnetConfig) -> Path | None:
    """The supernet that the bundle holding ``subnet_file`` (its bundle.json beside it, of this very subnet, not
    a pruned network's) was exported from: the path it records, else the embedded supernet where that holds the
    recorded weights (a bundle made in another install). ``None``: no such bundle; a :class:`UserError` where
    the supernet is nowhere to be found."""
    manifest = Path(subnet_file).with_name(MANIFEST)
    try:
        doc = json.loads(manifest.read_text())
        same = SubnetConfig.from_dict(doc["subnet"]).canonical() == cfg.canonical()
    except (OSError, ValueError, TypeError, KeyError, AttributeError, ConfigError):
        return None
    if not same or doc.get("pruned_from") or not doc.get("supernet"):
        return None
    path, sha = Path(doc["supernet"]), doc.get("weights_sha256")
    if path.is_file():
        return path
    if embedded_supernet().is_file() and file_sha256(embedded_supernet()) == sha:
        return embedded_supernet()
    raise UserError(
        f"bundle '{manifest.parent}' was exported from supernet '{path}' (weights SHA-256 {sha}), which is not "
        f"there any more: pass that checkpoint as {option_name('supernet')}."
    )
