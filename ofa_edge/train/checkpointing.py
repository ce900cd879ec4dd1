"""Training checkpoints: one atomic safetensors file holding the whole resumable state.

``checkpoint.safetensors`` holds the supernet (``model.*``), every tensor of the optimizer
state (``optim.<index>.<key>``), the current epoch's global sample order, the same for every
process (``sampler.order``), and the levers' tensors (``lever.<name>.<key>``); its header holds
the trainer's JSON state (iteration, loss accumulators, ledger, ...), the optimizer's scalars
and param groups, and the levers' metadata. A single file replaced by rename
is never half-written: a run killed at any instant resumes from the last complete write.
Nothing is unpickled on load.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write
from ofa_edge.supernet import Supernet
from ofa_edge.train.levers import Lever

FORMAT = "ofa-edge-train-state/1"
KEY = "ofa_edge_train"


def save_checkpoint(
    path: str | Path,
    net: Supernet,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    order: torch.Tensor,
    levers: Sequence[Lever] = (),
) -> None:
    """Write the resumable training state atomically."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in opt["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    tensors["sampler.order"] = order.detach().cpu().contiguous()
    lever_meta = {}
    for lever in levers:
        t, meta = lever.state()
        tensors.update({f"lever.{lever.name}.{k}": v.detach().cpu().contiguous() for k, v in t.items()})
        lever_meta[lever.name] = meta
    header = {
        "format": FORMAT,
        "state": state,
        "optim": {"param_groups": opt["param_groups"], "scalars": scalars},
        "levers": lever_meta,
    }
    atomic_write(path, lambda p: save_file(tensors, str(p), metadata={KEY: json.dumps(header)}))


def load_checkpoint(
    path: str | Path,
    net: Supernet,
    optimizer: torch.optim.Optimizer,
    levers: Sequence[Lever] = (),
) -> tuple[dict[str, Any], torch.Tensor]:
    """Restore net, optimizer and levers in place; returns (JSON state, the epoch's sample order)."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            header = json.loads((f.metadata() or {})[KEY])
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not iterable
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as e:
        raise UserError(
            f"'{path}' is not a readable ofa-edge training checkpoint ({e}); start a new run with another --out."
        ) from None
    if header.get("format") != FORMAT:
        raise UserError(f"'{path}' has format {header.get('format')!r}; this ofa-edge resumes {FORMAT!r}.")
    missing = [k for k in ("state", "optim", "levers") if k not in header] + [
        k for k in ("sampler.order",) if k not in tensors
    ]
    if missing:
        raise UserError(
            f"'{path}' is an incomplete training checkpoint (no {', '.join(missing)}); start a new run with another --out."
        )
    device = next(net.parameters()).device
    model = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    try:
        net.load_state_dict(model)
    except RuntimeError as e:
        raise UserError(f"checkpoint '{path}' does not fit this supernet ({str(e).splitlines()[0]}).") from None
    opt_state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, idx, key = k.split(".", 2)
            opt_state.setdefault(int(idx), {})[key] = v.to(device)
    for idx, entry in header["optim"]["scalars"].items():
        opt_state.setdefault(int(idx), {}).update(entry)
    optimizer.load_state_dict({"state": opt_state, "param_groups": header["optim"]["param_groups"]})
    unused = sorted(set(header["levers"]) - {lever.name for lever in levers})
    if unused:
        raise UserError(f"'{path}' was trained with levers {unused}; resume with the same lever options.")
    for lever in levers:
        prefix = f"lever.{lever.name}."
        lever.load_state(
            {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)},
            header["levers"].get(lever.name, {}),
        )
    return header["state"], tensors["sampler.order"]
