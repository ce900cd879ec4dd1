"""Extraction is exact: the standalone module computes the supernet's active forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.supernet import Supernet


def _randomize_bn(net: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)


@pytest.mark.parametrize("space_name", ["mbv3-w1.0-cifar", "mbv3-w1.0-imagenet"])
@pytest.mark.parametrize("kernel_transform", [False, True])
def test_extract_matches_active_forward(space_name: str, kernel_transform: bool) -> None:
    space = SearchSpace.get(space_name)
    torch.manual_seed(0)
    net = Supernet(space, num_classes=10, kernel_transform=kernel_transform)
    _randomize_bn(net, 1)
    if kernel_transform:  # non-identity transforms so the path is really exercised
        for blk in net.blocks:
            for p in blk.kernel_matrices.values():
                p.data.add_(torch.randn_like(p) * 0.05)
    net.eval()
    cost = CostModel(space, 10)
    rng = np.random.default_rng(0)
    n = 200 if not kernel_transform else 20
    for i in range(n):
        cfg = space.sample(rng)
        # the smallest resolution keeps CPU time low; resolution does not change the slicing
        cfg = type(cfg)(cfg.space, min(space.resolutions), cfg.depth, cfg.kernel, cfg.expand)
        net.set_active(cfg)
        x = torch.randn(1, 3, cfg.resolution, cfg.resolution)
        with torch.no_grad():
            want = net(x)
            sub = net.extract(cfg).eval()
            got = sub(x)
        assert (want - got).abs().max().item() <= 1e-5, cfg
        assert sum(p.numel() for p in sub.parameters()) == cost.params([cfg])[0]


def test_an_extracted_subnet_goes_through_torch_export() -> None:
    """torch.export (the route to ExecuTorch and AOTInductor) captures an extracted subnet whole, with a dynamic
    batch, and the exported program computes what the module does."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    net = Supernet(space, num_classes=10)
    _randomize_bn(net, 2)
    cfg = space.sample(np.random.default_rng(3))
    sub = net.extract(cfg).eval()
    x = torch.randn(2, 3, cfg.resolution, cfg.resolution)
    program = torch.export.export(sub, (x,), dynamic_shapes=({0: torch.export.Dim("batch", max=64)},))
    y = torch.randn(5, 3, cfg.resolution, cfg.resolution)
    with torch.no_grad():
        assert torch.allclose(program.module()(y), sub(y), atol=1e-5)
