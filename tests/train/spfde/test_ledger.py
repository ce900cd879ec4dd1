"""FLOPs accounting of the levers: dense identity, density scaling, frozen backward."""

from __future__ import annotations

import numpy as np
import pytest

from ofa_edge.space.cost import CostModel
from ofa_edge.supernet.network import Supernet
from ofa_edge.train.spfde import SparseMasks, SparsityConfig, SpfdeCost
from ofa_edge.train.spfde.freezing import NUM_UNITS

SPACE = "mbv3-w1.0-cifar"


@pytest.fixture(scope="module")
def net():
    return Supernet(SPACE)


def test_dense_pass_is_three_forwards(net):
    cost = SpfdeCost(net.space, 10)
    cfgs = [net.space.max(), net.space.min(), net.space.sample(np.random.default_rng(0))]
    macs = CostModel(net.space, 10).macs(cfgs)
    for cfg, m in zip(cfgs, macs):
        assert cost.dense_forward_macs(cfg) == m
        f = cost.pass_flops(cfg, images=8)
        assert f.spent == 3 * m * 8 and f.sparsity == 0 and f.freezing == 0
        assert cost.pass_flops(cfg, images=8, backward=False).spent == m * 8


def test_levers_split_the_dense_cost_exactly(net):
    masks = SparseMasks(net, SparsityConfig(0.5, "2:4"))
    cost = SpfdeCost(net.space, 10, masks)
    cfg = net.space.sample(np.random.default_rng(1))
    dense = 3 * cost.dense_forward_macs(cfg) * 4
    for frozen in (0, 3, NUM_UNITS):
        f = cost.pass_flops(cfg, images=4, frozen=frozen)
        assert f.spent + f.sparsity + f.freezing == pytest.approx(dense)
    none, some = cost.pass_flops(cfg, 4, frozen=0), cost.pass_flops(cfg, 4, frozen=3)
    assert none.freezing == 0 and some.freezing > 0 and some.sparsity == none.sparsity
    # 2:4 halves every masked layer; depthwise, first conv and classifier stay dense
    assert 0.3 < none.sparsity / dense < 0.5
