"""Extraction is exact: the standalone module computes the supernet's active forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.space.search_space import NUM_BLOCKS, NUM_STAGES
from ofa_edge.supernet import Supernet


def _randomize_bn(net: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def test_the_configs_cover_every_choice_of_every_block_and_stage(covering_subnets) -> None:
    space = SearchSpace.get("mbv3-w1.0-cifar")
    cfgs = covering_subnets(space, 0, np.random.default_rng(0))
    full = [c for c in cfgs if set(c.depth) == {max(space.depths)}]
    for b in range(NUM_BLOCKS):
        assert {(c.kernel[b], c.expand[b]) for c in full} == {(k, e) for k in space.kernels for e in space.expands}
    for s in range(NUM_STAGES):
        assert {c.depth[s] for c in cfgs} == set(space.depths)


@pytest.mark.parametrize("space_name", ["mbv3-w1.0-cifar", "mbv3-w1.0-imagenet"])
@pytest.mark.parametrize("kernel_transform", [False, True])
def test_extract_matches_active_forward(space_name: str, kernel_transform: bool, covering_subnets) -> None:
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
    # 12 covering subnets (every choice of every block and stage) and random ones: 42 in all (was 200
    # random ones, whose extractions took most of this file's time), 20 with kernel transforms
    for cfg in covering_subnets(space, 8 if kernel_transform else 30, np.random.default_rng(0)):
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
