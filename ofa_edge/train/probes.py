"""Accuracy of probe subnets (min, mid, max) after BN recalibration.

Each subnet is extracted into a standalone module first, so recalibration never disturbs
the supernet's own statistics; the same function serves ``ofa-edge eval``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from ofa_edge.data import ImageSet
from ofa_edge.data.transforms import fast_memory_format, resize
from ofa_edge.space import SearchSpace, SubnetConfig
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.bn_calibration import recalibrate_bn
from ofa_edge.train.data import eval_batches


def probe_configs(space: SearchSpace, n_random: int = 2) -> dict[str, SubnetConfig]:
    """min, mid (middle choice everywhere), max and ``n_random`` fixed random subnets (seed 0)."""

    def middle(values: tuple[int, ...]) -> int:
        return sorted(values)[len(values) // 2]

    lo, hi = space.min(), space.max()
    mid = SubnetConfig(
        space.name,
        middle(space.resolutions),
        (middle(space.depths),) * len(hi.depth),
        (middle(space.kernels),) * len(hi.kernel),
        (middle(space.expands),) * len(hi.expand),
    )
    rng = np.random.default_rng(0)
    return {"min": lo, "mid": mid, "max": hi} | {f"rand{i}": space.sample(rng) for i in range(n_random)}


def _batches(
    data: ImageSet, batch_size: int, device: torch.device, space: SearchSpace, resolution: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images at ``resolution`` in the device's fast memory format, labels), in order."""
    fmt = fast_memory_format(device)
    for x, y in eval_batches(data, batch_size, device, space.mean, space.std):
        yield resize(x, resolution).contiguous(memory_format=fmt), y


@torch.no_grad()
def evaluate_subnet(
    net: Supernet,
    cfg: SubnetConfig,
    calib: ImageSet,
    val: ImageSet,
    device: torch.device,
    batch_size: int = 256,
) -> dict[str, float]:
    """Top-1 (%) of ``cfg`` on ``val`` after recalibrating BN on ``calib`` (unaugmented)."""
    sub = net.extract(cfg).to(device, memory_format=fast_memory_format(device))
    recalibrate_bn(sub, (x for x, _ in _batches(calib, batch_size, device, net.space, cfg.resolution)))
    correct, seen = 0, 0
    for x, y in _batches(val, batch_size, device, net.space, cfg.resolution):
        correct += int((sub(x).argmax(1) == y).sum())
        seen += len(y)
    return {"top1": 100.0 * correct / max(1, seen), "images": seen, "calib_images": len(calib)}


def evaluate_probes(
    net: Supernet,
    cfgs: dict[str, SubnetConfig],
    calib: ImageSet,
    val: ImageSet,
    device: torch.device,
    batch_size: int = 256,
) -> dict[str, dict[str, float]]:
    """:func:`evaluate_subnet` for each named config; the supernet is left as it was."""
    was_training, active = net.training, net.active
    try:
        return {name: evaluate_subnet(net, cfg, calib, val, device, batch_size) for name, cfg in cfgs.items()}
    finally:
        net.set_active(active)
        net.train(was_training)
