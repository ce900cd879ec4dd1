"""Recalibrated BN statistics kept on disk, so that exporting the same subnet again (another
format, ``--int8``) skips the recalibration, the slowest part of an export on a CPU.

An entry is keyed by everything the statistics depend on: the checkpoint's bytes, the subnet,
the calibration images' bytes, the batch size and this module's procedure. It holds only the BN
buffers of the extracted subnet (a few kB), as safetensors written atomically; an entry that
does not fit the model, or that cannot be read, is recomputed and replaced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ofa_edge.data.transforms import fast_memory_format
from ofa_edge.io import atomic_write
from ofa_edge.space import SubnetConfig
from ofa_edge.supernet.bn_calibration import recalibrate_bn

PROCEDURE = "cumulative average, CPU channels_last, v1"  # change it when the statistics would change


def bn_cache_key(supernet_sha256: str, cfg: SubnetConfig, images: torch.Tensor, batch: int) -> str:
    """The entry name for ``cfg`` of the checkpoint with that digest, calibrated on the uint8 ``images``."""
    h = hashlib.sha256()
    head = {"supernet": supernet_sha256, "subnet": cfg.to_dict(), "batch": batch, "procedure": PROCEDURE}
    h.update(json.dumps(head, sort_keys=True).encode())
    h.update(str((tuple(images.shape), str(images.dtype))).encode())
    h.update(images.contiguous().numpy().tobytes())
    return h.hexdigest()[:40]


def _bn_buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{buf}": tensor
        for name, m in model.named_modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        for buf, tensor in m.named_buffers(recurse=False)
    }


def _load(model: nn.Module, path: Path) -> bool:
    """Copy the entry at ``path`` into ``model``'s BN buffers; False (model untouched) if it does not fit."""
    try:
        saved = load_file(path)
    except (OSError, SafetensorError):
        return False
    mine = _bn_buffers(model)
    if saved.keys() != mine.keys() or any(saved[k].shape != v.shape for k, v in mine.items()):
        return False
    with torch.no_grad():
        for k, v in mine.items():
            v.copy_(saved[k])
    return True


def recalibrate_bn_cached(model: nn.Module, batches: Iterable[torch.Tensor], entry: Path | None) -> bool:
    """Recalibrate ``model``'s BN on ``batches`` (on the CPU, in its fast memory format), or take the
    statistics from the cache file ``entry`` (see :func:`bn_cache_key`); True if they came from it.
    The model is handed back in eval mode and NCHW. An entry that cannot be written is skipped."""
    if entry is not None and entry.is_file() and _load(model, entry):
        model.eval()
        return True
    fmt = fast_memory_format("cpu")
    model.to(memory_format=fmt)
    recalibrate_bn(model, (x.contiguous(memory_format=fmt) for x in batches))
    model.to(memory_format=torch.contiguous_format)  # NCHW: what ONNX export and verification expect
    if entry is not None:
        buffers = {k: v.contiguous() for k, v in _bn_buffers(model).items()}
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(entry, lambda tmp: save_file(buffers, str(tmp), metadata={"procedure": PROCEDURE}))
        except OSError:
            pass  # a read-only work folder: this export goes on, the next one recalibrates again
    return False
