"""Checkpoint the levers' state: one safetensors file, tensors per lever, the rest as JSON.

Each lever has ``state() -> (tensors, meta)`` and ``load_state(tensors, meta)``. Tensors are
stored under ``<lever>/<key>`` (masks as bool), ``meta`` (JSON) in the header. Nothing is
unpickled on load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write

FORMAT = "ofa-edge-spfde/1"


class Lever(Protocol):
    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]: ...

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None: ...


def save_levers(path: str | Path, levers: dict[str, Lever], extra: dict[str, Any] | None = None) -> None:
    """Write the state of every lever (and JSON ``extra``, e.g. ledger totals) atomically."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {"format": FORMAT, "levers": {}, "extra": extra or {}}
    for name, lever in levers.items():
        t, m = lever.state()
        meta["levers"][name] = m
        tensors.update({f"{name}/{k}": v.detach().cpu().contiguous() for k, v in t.items()})
    atomic_write(path, lambda p: save_file(tensors, str(p), metadata={"ofa_edge": json.dumps(meta)}))


def load_levers(path: str | Path, levers: dict[str, Lever]) -> dict[str, Any]:
    """Restore ``levers`` from ``path``; returns the ``extra`` JSON. Mismatches raise UserError."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("ofa_edge", "{}"))
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"cannot read SpFDE state '{path}' ({e}); the file is missing or corrupt.") from None
    if meta.get("format") != FORMAT:
        raise UserError(f"'{path}' is not an SpFDE state file (format {meta.get('format')!r}, want {FORMAT!r}).")
    saved, wanted = set(meta["levers"]), set(levers)
    if saved != wanted:
        raise UserError(
            f"'{path}' holds SpFDE levers {sorted(saved)} but this run uses {sorted(wanted)}; "
            "resume with the same lever options."
        )
    for name, lever in levers.items():
        prefix = f"{name}/"
        lever.load_state({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}, meta["levers"][name])
    return meta["extra"]
