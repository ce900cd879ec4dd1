"""CostModel: analytic MACs/params equal an independent count on the extracted module."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.space import genome as G
from ofa_edge.supernet import Supernet


def hook_macs(model: nn.Module, resolution: int) -> int:
    """Count multiply-accumulates of every nn.Conv2d / nn.Linear call with forward hooks."""
    total = 0

    def conv(m: nn.Conv2d, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        kh, kw = m.kernel_size
        total += out[0].numel() * (m.in_channels // m.groups) * kh * kw

    def linear(m: nn.Linear, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        total += m.in_features * m.out_features

    handles = [
        m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else linear)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, resolution, resolution))
    for h in handles:
        h.remove()
    return total


@pytest.fixture(scope="module", params=["mbv3-w1.0-cifar", "mbv3-w1.0-imagenet"])
def supernet(request) -> Supernet:
    sp = SearchSpace.get(request.param)
    return Supernet(sp, num_classes=sp.default_num_classes)


@pytest.mark.parametrize("which", ["min", "max"])
def test_macs_and_params_of_extremes_match_hook_count(supernet: Supernet, which: str) -> None:
    sp = supernet.space
    cfg = getattr(sp, which)()
    cost = CostModel(sp, supernet.num_classes)
    sub = supernet.extract(cfg)
    assert cost.macs([cfg])[0] == hook_macs(sub, cfg.resolution)
    assert cost.params([cfg])[0] == sum(p.numel() for p in sub.parameters())


def test_random_subnets_match_hook_count(supernet: Supernet) -> None:
    sp = supernet.space
    cost = CostModel(sp, supernet.num_classes)
    rng = np.random.default_rng(7)
    cfgs = [sp.sample(rng) for _ in range(3)]
    macs = cost.macs(cfgs)
    for cfg, m in zip(cfgs, macs, strict=True):
        assert m == hook_macs(supernet.extract(cfg), cfg.resolution), cfg


def test_known_magnitudes() -> None:
    """OFA reports ~7.7M params for the largest w1.0 ImageNet subnet."""
    sp = SearchSpace.get("mbv3-w1.0-imagenet")
    cost = CostModel(sp, 1000)
    assert 7.5e6 < cost.params([sp.max()])[0] < 7.8e6
    assert cost.macs([sp.min()])[0] < cost.macs([sp.max(resolution=128)])[0] < cost.macs([sp.max()])[0]


def test_configs_and_genomes_agree_and_monotone_in_resolution() -> None:
    sp = SearchSpace.get("mbv3-w1.0-imagenet")
    cost = CostModel(sp, 1000)
    rng = np.random.default_rng(0)
    cfgs = [sp.sample(rng) for _ in range(100)]
    g = G.encode(sp, cfgs)
    assert np.array_equal(cost.macs(cfgs), cost.macs(g))
    assert np.array_equal(cost.params(cfgs), cost.params(g))
    # same architecture at a higher resolution: more MACs, same params
    hi = G.encode(sp, [type(c)(c.space, 224, c.depth, c.kernel, c.expand) for c in cfgs])
    lo = G.encode(sp, [type(c)(c.space, 128, c.depth, c.kernel, c.expand) for c in cfgs])
    assert (cost.macs(hi) > cost.macs(lo)).all()
    assert np.array_equal(cost.params(hi), cost.params(lo))


def test_wrong_arguments_are_named() -> None:
    """A space name is accepted like a SearchSpace and a numpy integer like an int; a zero-class head,
    a space that is neither, one subnet without a list, a generator, a dict or a genome list, and a
    subnet of another space raise UserError saying what to pass (the wording of table.predict)."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    macs = CostModel(space, 10).macs([space.max()])
    assert CostModel("mbv3-w1.0-cifar", np.int64(10)).macs([space.max()]) == macs
    with pytest.raises(UserError, match="num_classes must be an integer >= 1, got 0"):
        CostModel(space, 0)
    with pytest.raises(UserError, match="space must be a SearchSpace or a space name, got int"):
        CostModel(3, 10)  # type: ignore[arg-type]
    cost = CostModel(space, 10)
    with pytest.raises(UserError, match=r"cost.macs takes a list of subnets: cost.macs\(\[cfg\]\)"):
        cost.macs(space.max())  # type: ignore[arg-type]
    with pytest.raises(UserError, match=r"got generator \(make it a list"):
        cost.macs(c for c in [space.max()])  # type: ignore[arg-type]
    with pytest.raises(UserError, match="cost.macs: item 0: expected a SubnetConfig, got dict"):
        cost.macs([space.max().to_dict()])  # type: ignore[list-item]
    with pytest.raises(UserError, match="cost.params: item 0: expected a SubnetConfig, got list"):
        cost.params([[0] * 46])  # type: ignore[list-item]
    with pytest.raises(
        UserError,
        match=r"item 0: the subnet is of space 'mbv3-w1.0-imagenet', not 'mbv3-w1.0-cifar'; use CostModel\('mbv3-w1.0-imagenet'",
    ):
        cost.params([SearchSpace.get("mbv3-w1.0-imagenet").max()])


def test_genomes_out_of_range_are_refused_not_misread() -> None:
    sp = SearchSpace.get("mbv3-w1.0-cifar")
    cost = CostModel(sp, 10)
    g = G.encode(sp, [sp.min(), sp.max()])
    assert np.array_equal(cost.macs(g), cost.macs([sp.min(), sp.max()]))
    assert np.array_equal(cost.macs(g, check=False), cost.macs(g))  # the search's trusted hot path
    g[0, G.EXPAND.start + 19] = len(sp.expands)  # one past the last expand choice of the last block
    with pytest.raises(UserError, match=r"genome 0, column 45 \(expand of block 19\)"):
        cost.macs(g)
    g[0, G.EXPAND.start + 19] = 0
    g[1, G.DEPTH.start] = 7
    with pytest.raises(UserError, match=r"genome 1, column 1 \(depth of stage 0\) is 7"):
        cost.params(g)
    with pytest.raises(UserError, match=r"integer array of shape \(N, 46\)"):
        cost.params(g.astype(np.float32))
