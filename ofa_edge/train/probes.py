"""Accuracy of probe subnets (min, mid, max and fixed random ones) after BN recalibration
(:func:`ofa_edge.supernet.evaluate.evaluate_subnet`); the same function serves ``ofa-edge eval``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ofa_edge.space import SearchSpace, SubnetConfig

if TYPE_CHECKING:
    import torch

    from ofa_edge.data import ImageSet
    from ofa_edge.supernet import Supernet

RANDOM_PROBES = 2  # fixed random subnets probed beside min, mid and max
PROBE_BATCH = 256  # the batch the training probes and `ofa-edge eval` infer in (it does not change top-1)


def probe_configs(space: SearchSpace, n_random: int = RANDOM_PROBES) -> dict[str, SubnetConfig]:
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


def evaluate_probes(
    net: Supernet,
    cfgs: dict[str, SubnetConfig],
    calib: ImageSet,
    val: ImageSet,
    device: torch.device,
    batch_size: int = PROBE_BATCH,
    on_probe: Callable[[int, str], None] | None = None,
) -> dict[str, dict[str, float]]:
    """:func:`evaluate_subnet` for each named config (``on_probe(i, name)`` called before each), inferring
    in batches of ``batch_size``; the supernet is left as it was."""
    from ofa_edge.supernet.evaluate import evaluate_subnet

    was_training, active = net.training, net.active
    results = {}
    try:
        for i, (name, cfg) in enumerate(cfgs.items()):
            if on_probe is not None:
                on_probe(i, name)
            results[name] = evaluate_subnet(net, cfg, calib, val, device, batch_size)
        return results
    finally:
        net.set_active(active)
        net.train(was_training)
