"""Gradient aggregation: the regions a subnet uses are exactly where its gradient lands; avg divides by them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet
from ofa_edge.train.aggregate import GradAverager, used_regions

SPACE = SearchSpace.get("mbv3-w1.0-cifar")


@pytest.mark.parametrize("kernel_transform", [False, True])
def test_regions_cover_exactly_the_gradient(kernel_transform: bool) -> None:
    torch.manual_seed(0)
    net = Supernet(SPACE, 10, kernel_transform=kernel_transform)
    for blk in net.blocks:  # non-zero last BN so every path carries gradient
        torch.nn.init.ones_(blk.proj_bn.weight)
    cfg = SPACE.sample(np.random.default_rng(3))
    net.set_active(cfg)
    net(torch.randn(2, 3, cfg.resolution, cfg.resolution)).square().sum().backward()
    regions = {id(p): r for p, r in used_regions(net, cfg)}
    hit = covered = 0
    for name, p in net.named_parameters():
        used = torch.zeros_like(p, dtype=torch.bool)
        if id(p) in regions:
            used[regions[id(p)]] = True
        has_grad = torch.zeros_like(used) if p.grad is None else p.grad != 0
        assert not (has_grad & ~used).any(), f"{name}: gradient outside the region"
        if id(p) in regions:
            assert has_grad[used].any(), f"{name}: used but no gradient"
            if ".se." not in name:  # SE's hidden ReLU zeroes whole rows at random
                hit, covered = hit + int(has_grad[used].sum()), covered + int(used.sum())
    assert hit / covered > 0.97  # dead ReLUs aside, the whole region carries gradient


def test_avg_of_identical_subnets_equals_one_subnet() -> None:
    torch.manual_seed(0)
    net = Supernet(SPACE, 10, dropout=0.0)
    cfg = SPACE.sample(np.random.default_rng(1))
    x = torch.randn(2, 3, cfg.resolution, cfg.resolution)
    net.set_active(cfg)
    net(x).square().sum().backward()
    single = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
    net.zero_grad(set_to_none=True)
    avg = GradAverager()
    for w in (0.3, 0.7):
        (net(x).square().sum() * w).backward()
        avg.add(net, cfg, w)
    avg.apply()
    for n, p in net.named_parameters():
        if n in single:
            torch.testing.assert_close(p.grad, single[n], rtol=1e-5, atol=1e-6)
