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
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write_bytes
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.metadata import TRAIN_STATE_KEY
from ofa_edge.train.levers import Lever

FORMAT = "ofa-edge-train-state/1"


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
    atomic_write_bytes(path, save(tensors, metadata={TRAIN_STATE_KEY: json.dumps(header)}))


def state_bytes(net: Supernet) -> int:
    """The size of ``net``'s weights and buffers: about a supernet file's."""
    return sum(t.numel() * t.element_size() for t in net.state_dict().values())


def checkpoint_bytes(net: Supernet, images: int) -> int:
    """About how large a checkpoint of ``net`` is: its state, SGD's momentum buffer of each parameter, the sampler's
    order of ``images`` (the levers' few tensors not counted)."""
    momentum = sum(p.numel() * p.element_size() for p in net.parameters() if p.requires_grad)
    return state_bytes(net) + momentum + 8 * images


def unreadable_checkpoint(path: Path, why: str) -> UserError:
    """The one message for a checkpoint file or state that cannot be trusted."""
    return UserError(
        f"'{path}' is not a readable ofa-edge training checkpoint ({why}); start a new run with another --out."
    )


def check_state(
    path: str | Path, state: dict[str, Any], order: torch.Tensor, total_iters: int, epoch_samples: int, images: int
) -> None:
    """Refuse a checkpoint state that does not fit this run: the iteration an int in [0, ``total_iters``],
    the loss accumulators numbers, the sample order ``epoch_samples`` distinct indices below ``images``."""
    path = Path(path)
    it = state.get("it")
    if type(it) is not int or not 0 <= it <= total_iters:
        raise unreadable_checkpoint(path, f"iteration {it!r}, not an integer in [0, {total_iters}]")
    steps = state.get("epoch_steps")
    if type(steps) is not int or steps < 0:
        raise unreadable_checkpoint(path, f"epoch_steps {steps!r}, not a count")
    loss = state.get("epoch_loss")
    if type(loss) not in (int, float) or not math.isfinite(loss):
        raise unreadable_checkpoint(path, f"epoch_loss {loss!r}, not a finite number")
    for key in ("teacher", "reordered"):
        if type(state.get(key)) is not bool:
            raise unreadable_checkpoint(path, f"{key} {state.get(key)!r}, not true or false")
    if not isinstance(state.get("ledger"), dict):
        raise unreadable_checkpoint(path, "no ledger")
    if order.dim() != 1 or order.dtype != torch.int64 or len(order) != epoch_samples:
        raise unreadable_checkpoint(
            path, f"sampler.order length {len(order) if order.dim() else 0}, not the {epoch_samples} images of an epoch"
        )
    if len(order) and (int(order.min()) < 0 or int(order.max()) >= images or len(order.unique()) != len(order)):
        raise unreadable_checkpoint(path, f"sampler.order is not distinct indices below {images}")


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
            header = json.loads((f.metadata() or {})[TRAIN_STATE_KEY])
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not iterable
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as e:
        raise unreadable_checkpoint(path, str(e)) from None
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
