"""A supernet checkpoint's header: what the file is and what it says about itself (format, space,
classes, training record), read without its weights and without torch, so commands that only need
those (a search with a saved predictor) start fast. :mod:`ofa_edge.supernet.checkpoint` reads and
writes the weights.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

from ofa_edge.data.classes import TrainedOn
from ofa_edge.errors import UserError

FORMAT = "ofa-edge-supernet/1"
TRAIN_STATE_KEY = "ofa_edge_train"  # the metadata key of a training checkpoint (written by ofa_edge.train)


def require_checkpoint_file(path: str | Path) -> Path:
    """``path`` if it is a file; else a :class:`UserError` saying what it is instead."""
    if not isinstance(path, str | PathLike):
        raise UserError(f"a supernet checkpoint path must be a str or Path, got {type(path).__name__} {path!r}.")
    path = Path(path)
    if path.is_dir():
        raise UserError(
            f"supernet checkpoint '{path}' is a folder; pass the .safetensors file in it "
            "(`ofa-edge train` writes supernet.safetensors)."
        )
    if not path.is_file():
        raise UserError(
            f"supernet checkpoint '{path}' does not exist; check the path, or pass a .safetensors checkpoint "
            "(`ofa-edge train` writes one)."
        )
    return path


def trained_on(meta: dict[str, Any]) -> TrainedOn:
    """What a checkpoint's training recorded of its dataset (:func:`read_metadata`): its class names and folder,
    where it recorded them; what :func:`~ofa_edge.data.classes.require_num_classes` checks data against."""
    training = meta.get("training", {})
    return TrainedOn(training.get("classes"), training.get("data"))


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint, without loading its weights."""
    path = require_checkpoint_file(path)
    try:
        with safe_open(str(path), framework="numpy") as f:  # the header only: no torch
            found = f.metadata() or {}
            raw = found.get("ofa_edge")
    except (SafetensorError, OSError, ValueError) as e:
        if _is_pickle(path):
            raise UserError(
                f"'{path}' is not a readable safetensors checkpoint: it looks like a PyTorch pickle (torch.save), "
                "and ofa-edge never unpickles files (unpickling runs code). If you trust it, load its state dict "
                "with torch.load(path, weights_only=True) into Supernet(space, num_classes) and write it with "
                "save_supernet(net, 'supernet.safetensors')."
            ) from None
        raise UserError(
            f"'{path}' is not a readable safetensors checkpoint ({e}); it may be truncated or of another format."
        ) from None
    if raw is None and TRAIN_STATE_KEY in found:
        raise UserError(
            f"'{path}' is an ofa-edge training checkpoint (weights and optimizer state to resume from), not a "
            f"supernet: pass the supernet.safetensors beside it, which `ofa-edge train` writes when the run "
            f"completes (a stopped run: `ofa-edge train --resume --out {path.parent}` finishes it)."
        )
    if raw is None and (slim := _slim_beside(path)) is not None:
        raise UserError(
            f"'{path}' holds the weights of a network `ofa-edge prune` slimmed, not an ofa-edge supernet: score or "
            f"export it as `ofa-edge eval --slim {slim}` or `ofa-edge export --slim {slim}` (in Python: "
            f"load_slim('{slim}')), or pass a supernet that `ofa-edge train` wrote."
        )
    if raw is None:
        raise UserError(
            f"'{path}' is a safetensors file but not an ofa-edge supernet (no 'ofa_edge' metadata); pass one that "
            "`ofa-edge train` wrote (its run folder's supernet.safetensors), or the pretrained one shipped with ofa-edge."
        )
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise UserError(f"'{path}' has corrupt ofa-edge metadata; re-export the checkpoint.") from None
    if not isinstance(meta, dict):
        raise UserError(f"'{path}' has corrupt ofa-edge metadata (not a JSON object); re-export the checkpoint.")
    if meta.get("format") != FORMAT:
        raise UserError(f"'{path}' has checkpoint format {meta.get('format')!r}; this ofa-edge reads {FORMAT!r}.")
    if not isinstance(meta.get("space"), str) or not isinstance(meta.get("num_classes"), int):
        raise UserError(f"'{path}' has corrupt ofa-edge metadata (needs 'space' and 'num_classes'); re-export it.")
    return meta


def _is_pickle(path: Path) -> bool:
    """Whether ``path`` starts like a ``torch.save`` file (a zip archive, or a legacy raw pickle)."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head == b"PK\x03\x04" or head[:1] == b"\x80"


def _slim_beside(path: Path) -> Path | None:
    """The ``slim.json`` beside ``path`` that names it as its weights (``ofa-edge prune`` writes both), if any."""
    slim = path.with_name("slim.json")
    try:
        doc = json.loads(slim.read_text())
    except (OSError, ValueError):
        return None
    return slim if isinstance(doc, dict) and doc.get("weights") == path.name else None
