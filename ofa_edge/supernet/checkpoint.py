"""Supernet checkpoints: safetensors weights with JSON metadata in the file header.

Loading never unpickles anything. A checkpoint made for another space or class count is
refused with a message that says which.
"""

from __future__ import annotations

import json
from numbers import Integral
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write_bytes
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.search_space import SearchSpace
from ofa_edge.supernet.metadata import FORMAT, read_metadata
from ofa_edge.supernet.network import Supernet


def save_supernet(
    net: Supernet, path: str | Path, metadata: dict[str, Any] | None = None, *, dtype: torch.dtype | None = None
) -> None:
    """Write ``net`` atomically; ``metadata`` (JSON-serialisable) rides in the header."""
    if not isinstance(net, Supernet):
        raise UserError(
            f"save_supernet: expected a Supernet, got {type(net).__name__}; an extracted subnet is exported "
            "with `ofa-edge export`, or saved with torch's own tools."
        )
    if not isinstance(path, str | PathLike):
        raise UserError(f"save_supernet: path must be a file path (str or Path), got {type(path).__name__}.")
    if not isinstance(metadata, dict | None):
        raise UserError(
            f"save_supernet: metadata must be a dict (JSON header fields), got {type(metadata).__name__}; "
            "e.g. {'epochs': 120}."
        )
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise UserError(
            f"save_supernet: dtype must be a floating torch dtype (torch.float16, torch.bfloat16, torch.float32), "
            f"got {dtype!r}; integer dtypes would truncate the weights."
        )
    if Path(path).is_dir():
        raise UserError(
            f"save_supernet: '{path}' is a folder; pass a file path, e.g. '{Path(path) / 'supernet.safetensors'}'."
        )
    meta = {
        "format": FORMAT,
        "space": net.space.name,
        "num_classes": net.num_classes,
        "kernel_transform": net.kernel_transform,
        "dropout": net.dropout,
        "preprocessing": {"mean": list(net.space.mean), "std": list(net.space.std)},
    }
    clash = sorted(k for k in metadata or {} if k in meta and metadata[k] != meta[k])  # type: ignore[index]
    if clash:
        raise UserError(
            f"save_supernet: metadata {clash} would contradict the network "
            f"({', '.join(f'{k}={meta[k]!r}' for k in clash)}); these fields describe the weights and are written "
            "by save_supernet: leave them out of metadata."
        )
    meta |= metadata or {}
    try:
        header = json.dumps(meta)
    except (TypeError, ValueError) as e:
        raise UserError(
            f"save_supernet: metadata must be JSON-serialisable ({e}); pass str, numbers, lists, dicts."
        ) from None
    tensors = {}
    for k, v in net.state_dict().items():
        v = v.detach().cpu()
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        tensors[k] = v.contiguous()
    atomic_write_bytes(path, save(tensors, metadata={"ofa_edge": header}))


def load_subnet(subnet: str | Path, supernet: str | Path, metadata: dict[str, Any] | None = None) -> SubnetConfig:
    """Read a subnet file (or a search output folder) for ``supernet``: a once-for-all arch dict
    that names no space is read in the supernet's space. ``metadata``: the checkpoint's, where the caller
    has read it (:func:`read_metadata`), not read again."""
    meta = read_metadata(supernet) if metadata is None else metadata
    return SubnetConfig.load(subnet, space=meta["space"])


def load_supernet(
    path: str | Path,
    *,
    space: SearchSpace | str | None = None,
    num_classes: int | None = None,
    device: str | torch.device = "cpu",
    metadata: dict[str, Any] | None = None,
) -> Supernet:
    """Load a supernet (in train mode, as torch builds modules: call ``.eval()`` and recalibrate BN
    before measuring a subnet); ``space`` / ``num_classes``, if given, must match the checkpoint.
    ``metadata``: the checkpoint's, where the caller has read it (:func:`read_metadata`), not read again."""
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, Integral)):
        raise UserError(f"load_supernet: num_classes must be an integer or None, got {num_classes!r}.")
    dev = _check_device(device)
    if isinstance(space, SearchSpace):
        space = space.name
    meta = read_metadata(path) if metadata is None else metadata
    if space is not None and meta["space"] != space:
        raise UserError(f"checkpoint '{path}' is for space '{meta['space']}', not '{space}'.")
    if num_classes is not None and meta["num_classes"] != num_classes:
        raise UserError(f"checkpoint '{path}' has {meta['num_classes']} classes, not {num_classes}.")
    try:
        net = Supernet(
            SearchSpace.get(meta["space"]),
            meta["num_classes"],
            kernel_transform=bool(meta.get("kernel_transform", False)),
            dropout=meta.get("dropout", 0.1),
        )
    except UserError as e:
        raise UserError(f"checkpoint '{path}' declares a network this ofa-edge cannot build: {e}") from None
    expected = net.state_dict()
    try:
        with safe_open(str(path), framework="pt", device=str(dev) if dev.type == "cuda" else "cpu") as f:
            keys = set(f.keys())
            missing, unexpected = sorted(set(expected) - keys), sorted(keys - set(expected))
            if missing or unexpected:
                raise UserError(
                    f"checkpoint '{path}' does not match its declared space '{meta['space']}': "
                    f"missing {missing[:3]}, unexpected {unexpected[:3]}."
                )
            state = {}
            for k in expected:
                t = f.get_tensor(k)
                if t.shape != expected[k].shape:
                    raise UserError(
                        f"checkpoint '{path}': tensor '{k}' has shape {tuple(t.shape)}, expected {tuple(expected[k].shape)}."
                    )
                state[k] = t.to(expected[k].dtype)
    except (SafetensorError, OSError) as e:
        raise UserError(f"cannot read weights from '{path}' ({e}); the file may be truncated.") from None
    net.load_state_dict(state)
    net.metadata = meta
    return net.to(dev)


def _check_device(device: object) -> torch.device:
    """``device`` as a torch device; a :class:`UserError` for one torch does not know or this machine lacks."""
    try:
        dev = torch.device(device)  # type: ignore[arg-type]
    except (RuntimeError, TypeError) as e:
        raise UserError(f"load_supernet: device {device!r} is not a torch device ({e}); use 'cpu' or 'cuda'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"load_supernet: device {device!r} asked for, but torch sees no CUDA GPU here; use 'cpu'.")
    return dev
