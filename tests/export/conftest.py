"""Export fixtures: real supernets with non-trivial statistics, saved as real checkpoints."""

from __future__ import annotations

import pytest
import torch

from ofa_edge import SearchSpace, Supernet, save_supernet


def randomize(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-zero BN affine and unit-scale classifier weights, so logits are O(1) and a wrong graph shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            elif isinstance(m, torch.nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features**0.5)
    return net.eval()


@pytest.fixture(scope="session")
def calibrated():
    """``calibrated(net, cfg, x)``: the extracted subnet with BN statistics recomputed on ``x``."""
    from ofa_edge.supernet.bn_calibration import recalibrate_bn

    def make(net: Supernet, cfg, x: torch.Tensor) -> torch.nn.Module:
        model = net.extract(cfg)
        recalibrate_bn(model, [x])
        return model

    return make


@pytest.fixture(scope="session")
def supernets() -> dict[str, Supernet]:
    torch.manual_seed(0)
    return {
        name: randomize(Supernet(SearchSpace.get(name), 10), i)
        for i, name in enumerate(["mbv3-w1.0-cifar", "mbv3-w1.0-imagenet"])
    }


@pytest.fixture(scope="session")
def cifar_ckpt(tmp_path_factory, supernets):
    """The CIFAR-space supernet as a safetensors checkpoint."""
    path = tmp_path_factory.mktemp("ckpt") / "cifar.safetensors"
    save_supernet(supernets["mbv3-w1.0-cifar"], path)
    return path
