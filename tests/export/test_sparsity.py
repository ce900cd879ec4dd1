"""2:4 structured sparsity: found in extracted subnets of an SpFDE-masked supernet, and passed to TensorRT."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ofa_edge.export.sparsity import two_four_layers
from ofa_edge.export.tensorrt_build import trtexec_commands
from ofa_edge.supernet import Supernet
from ofa_edge.train.spfde.sparsity import SparseMasks, SparsityConfig


def _two_four(shape: tuple[int, ...]) -> torch.Tensor:
    """Random weights with the 2 largest of every 4 consecutive input channels kept."""
    w = torch.randn(shape)
    w4 = w if w.dim() == 4 else w[:, :, None, None]
    groups = w4.permute(0, 2, 3, 1).reshape(*w4.shape[:1], *w4.shape[2:], -1, 4)
    drop = groups.abs().argsort(-1)[..., :2]
    groups.scatter_(-1, drop, 0.0)
    return groups.reshape(w4.shape[0], *w4.shape[2:], -1).permute(0, 3, 1, 2).reshape(shape).contiguous()


def test_only_layers_with_the_pattern_are_named():
    net = nn.Sequential(
        nn.Conv2d(8, 16, 3),  # 0: 2:4
        nn.Conv2d(16, 16, 1),  # 1: dense
        nn.Conv2d(16, 16, 3, groups=16),  # 2: depthwise, zeros but no input-channel groups
        nn.Conv2d(16, 8, 1),  # 3: 3 of 4 alive in one group
        nn.Conv2d(8, 8, 1),  # 4: all zero
        nn.Linear(8, 4),  # 5: 2:4
    )
    with torch.no_grad():
        net[0].weight.copy_(_two_four((16, 8, 3, 3)))
        net[2].weight[:, :, 0] = 0
        w = _two_four((8, 16, 1, 1))
        w[0, :3, 0, 0] = 1.0
        net[3].weight.copy_(w)
        net[4].weight.zero_()
        net[5].weight.copy_(_two_four((4, 8)))
    assert two_four_layers(net) == ["0", "5"]


def test_spfde_masks_survive_extraction():
    torch.manual_seed(0)
    net = Supernet("mbv3-w1.0-cifar", 10)
    masks = SparseMasks(net, SparsityConfig(0.5, pattern="2:4"))
    sub = net.extract(net.space.sample(np.random.default_rng(0)))
    found = set(two_four_layers(sub))
    assert "stem.proj" in found and "head.mix" in found
    assert any(n.endswith("proj") and n.startswith("blocks.") for n in found)
    assert len(found) >= len(masks.masks) // 2  # every block a subnet keeps brings its masked layers along
    assert two_four_layers(Supernet("mbv3-w1.0-cifar", 10).extract()) == []  # dense


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_trtexec_enables_sparsity_only_for_sparse_networks(precision):
    dense = trtexec_commands(precision, 32)
    sparse = trtexec_commands(precision, 32, sparse_weights=True)
    for version in ("tensorrt10", "tensorrt11"):
        assert "--sparsity" not in dense[version]
        assert sparse[version] == dense[version] + " --sparsity=enable"
