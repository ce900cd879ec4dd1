"""Small networks shared by the pruning tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ofa_edge.space import SearchSpace, SubnetConfig
from ofa_edge.supernet import Supernet


def randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BN statistics and affine values, so zeroing really changes outputs."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model.eval()


class TinyResNet(nn.Module):
    """conv-BN-ReLU stem, one residual block, SE-like gate, global pool, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.gate = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(x + self.bn2(self.conv2(x)))
        x = x * torch.sigmoid(self.gate(x.mean((2, 3), keepdim=True)))
        return self.fc(torch.flatten(x.mean((2, 3)), 1))


@pytest.fixture()
def tiny_resnet() -> TinyResNet:
    torch.manual_seed(0)
    return TinyResNet()


@pytest.fixture(scope="module")
def ofa_subnet() -> tuple[nn.Module, SubnetConfig]:
    """A random subnet extracted from a randomly initialised CIFAR supernet, and its config."""
    torch.manual_seed(0)
    space = SearchSpace.get("mbv3-w1.0-cifar")
    cfg = space.sample(np.random.default_rng(3))
    return randomize_bn(Supernet(space, 10).extract(cfg), 1), cfg


@pytest.fixture()
def bn_randomizer():
    """The :func:`randomize_bn` helper, for tests that build their own networks."""
    return randomize_bn
