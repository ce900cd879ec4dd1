"""Recalibrated BN statistics kept on disk, so that exporting the same subnet again (another
format, ``--int8``) skips the recalibration, the slowest part of an export on a CPU.

An entry is keyed by everything the statistics depend on: the checkpoint's bytes, the subnet,
the calibration images' bytes, the batch size and this module's procedure. It holds only the BN
buffers of the extracted subnet (about 150 kB), as safetensors written atomically; an entry that
does not fit the model, or that cannot be read, is recomputed and replaced.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from ofa_edge.io import atomic_write_bytes
from ofa_edge.space import SubnetConfig

PROCEDURE = "cumulative average, CPU channels_last, v1"  # change it when export computes them otherwise


def bn_cache_key(supernet_sha256: str, cfg: SubnetConfig, images: torch.Tensor, batch: int) -> str:
    """The entry name for ``cfg`` of the checkpoint with that digest, calibrated on the uint8 ``images``."""
    h = hashlib.sha256()
    subnet = cfg.canonical().to_dict()  # genes of blocks beyond a stage's depth do not change the network
    head = {"supernet": supernet_sha256, "subnet": subnet, "batch": batch, "procedure": PROCEDURE}
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


def load_bn_stats(model: nn.Module, entry: Path) -> bool:
    """Copy the cache file ``entry`` into ``model``'s BN buffers; False (model untouched) when there is
    none, or it cannot be read or does not fit the model."""
    try:
        saved = load_file(entry)
    except (OSError, SafetensorError):
        return False
    mine = _bn_buffers(model)
    if saved.keys() != mine.keys() or any(saved[k].shape != v.shape for k, v in mine.items()):
        return False
    with torch.no_grad():
        for k, v in mine.items():
            v.copy_(saved[k])
    return True


def save_bn_stats(model: nn.Module, entry: Path) -> None:
    """Write ``model``'s BN buffers to the cache file ``entry``; a place that cannot be written is
    skipped (a read-only work folder: the next export recalibrates again)."""
    buffers = {k: v.contiguous() for k, v in _bn_buffers(model).items()}
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(entry, save(buffers, metadata={"procedure": PROCEDURE}))
    except OSError:
        pass
