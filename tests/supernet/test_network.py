"""Supernet: selection, weight sharing (forward, gradients, sliced BN) and extraction."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ofa_edge.errors import UserError
from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.layers import SubnetModel

CIFAR = SearchSpace.get("mbv3-w1.0-cifar")


def _differ(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Clearly different outputs (relative: a fresh net's eval-mode logits are tiny)."""
    return bool((a - b).abs().max() > 1e-3 * torch.maximum(a.abs().max(), b.abs().max()))


@pytest.fixture(scope="module")
def net() -> Supernet:
    torch.manual_seed(0)
    return Supernet(CIFAR, num_classes=10)


def test_fresh_supernet_runs_its_max_subnet(net: Supernet) -> None:
    fresh = Supernet(CIFAR, num_classes=7)
    assert fresh.active == CIFAR.max()
    assert fresh.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 7)


def test_active_subnet_changes_the_function(net: Supernet) -> None:
    net.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        net.set_active(CIFAR.min(32))
        small = net(x)
        net.set_max()
        big = net(x)
    assert small.shape == big.shape == (2, 10)
    assert _differ(small, big)


def test_set_active_refuses_other_space(net: Supernet) -> None:
    other = SearchSpace.get("mbv3-w1.0-imagenet").min()
    with pytest.raises(UserError, match="mbv3-w1.0-imagenet.*mbv3-w1.0-cifar"):
        net.set_active(other)
    with pytest.raises(UserError, match="mbv3-w1.0-imagenet"):
        net.extract(other)


def test_sliced_bn_in_training_updates_only_active_slice(net: Supernet) -> None:
    cfg = CIFAR.min(resolution=24)
    net.set_active(cfg)
    net.train()
    blk = net.blocks[0]
    bn = blk.expand_bn
    mid = CIFAR.mid_channels(0, cfg.expand[0])
    assert mid < bn.num_features
    before_mean, before_var = bn.running_mean.clone(), bn.running_var.clone()
    tracked = int(bn.num_batches_tracked)
    x = torch.randn(4, 3, 24, 24)
    net(x)
    with torch.no_grad():  # expected update of the active slice, computed from the static stem
        y = F.conv2d(net.stem(x), blk.expand.weight[:mid])
    m = bn.momentum
    torch.testing.assert_close(bn.running_mean[:mid], (1 - m) * before_mean[:mid] + m * y.mean((0, 2, 3)))
    torch.testing.assert_close(bn.running_var[:mid], (1 - m) * before_var[:mid] + m * y.var((0, 2, 3), unbiased=True))
    assert torch.equal(bn.running_mean[mid:], before_mean[mid:])
    assert torch.equal(bn.running_var[mid:], before_var[mid:])
    assert int(bn.num_batches_tracked) == tracked + 1
    # an inactive block's statistics are untouched
    assert int(net.blocks[3].expand_bn.num_batches_tracked) == 0
    net.eval()


def test_gradients_reach_only_the_active_weights() -> None:
    torch.manual_seed(1)
    net = Supernet(CIFAR, num_classes=10).train()
    cfg = CIFAR.min(resolution=24)
    net.set_active(cfg)
    F.cross_entropy(net(torch.randn(4, 3, 24, 24)), torch.tensor([0, 1, 2, 3])).backward()
    assert net.blocks[2].expand.weight.grad is None  # block 2 of stage 0 is beyond depth 2
    blk, mid = net.blocks[0], CIFAR.mid_channels(0, cfg.expand[0])
    assert blk.expand.weight.grad[:mid].abs().sum() > 0
    assert blk.expand.weight.grad[mid:].abs().sum() == 0
    dw = blk.dw.weight.grad
    assert dw[:mid, :, 2:5, 2:5].abs().sum() > 0  # kernel 3 is the centre of the 7x7 weight
    assert dw[:, :, :2].abs().sum() == 0 and dw[mid:].abs().sum() == 0


def test_kernel_transform_is_trained_and_changes_the_function() -> None:
    torch.manual_seed(2)
    plain = Supernet(CIFAR, num_classes=10)
    torch.manual_seed(2)
    kt = Supernet(CIFAR, num_classes=10, kernel_transform=True)
    cfg = CIFAR.min(resolution=24)
    x = torch.randn(2, 3, 24, 24)
    for n in (plain, kt):
        n.set_active(cfg)
        n.eval()
    with torch.no_grad():  # identity matrices: same function as centre cropping
        mid = CIFAR.mid_channels(0, 3)
        assert torch.equal(kt.blocks[0].active_dw_weight(3, mid), plain.blocks[0].active_dw_weight(3, mid))
        assert not _differ(plain(x), kt(x))
        for blk in kt.blocks:
            for p in blk.kernel_matrices.values():
                p.add_(torch.randn_like(p) * 0.1)
        assert _differ(plain(x), kt(x))
    kt.train()
    kt(x).sum().backward()
    matrices = kt.blocks[0].kernel_matrices
    assert set(matrices) == {"to5", "to3"}
    assert matrices["to5"].grad.abs().sum() > 0 and matrices["to3"].grad.abs().sum() > 0


def test_extract_copies_weights_and_keeps_mode(net: Supernet) -> None:
    cfg = CIFAR.sample(np.random.default_rng(5))
    net.set_active(cfg)
    net.train()
    sub = net.extract()  # default: the active subnet
    assert isinstance(sub, SubnetModel) and sub.training
    assert len(sub.blocks) == sum(cfg.depth)
    assert all(type(m).__name__ != "DynamicMBConv" for m in sub.modules())
    before = net.blocks[0].expand.weight.detach().clone()
    with torch.no_grad():
        sub.blocks[0].expand.weight.add_(1.0)
        sub.stem.conv.weight.add_(1.0)
    assert torch.equal(net.blocks[0].expand.weight, before)
    assert not torch.equal(net.stem.conv.weight, sub.stem.conv.weight)
    net.eval()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available on this machine")
def test_extract_on_cuda_stays_on_the_supernet_device() -> None:
    net = Supernet(CIFAR, num_classes=10).cuda().eval()
    cfg = CIFAR.sample(np.random.default_rng(0))
    net.set_active(cfg)
    sub = net.extract(cfg)
    assert {p.device.type for p in sub.parameters()} == {"cuda"}
    x = torch.randn(2, 3, cfg.resolution, cfg.resolution, device="cuda")
    with torch.no_grad():
        torch.testing.assert_close(sub(x), net(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"space": None}, "space must be a SearchSpace or a space name"),
        ({"space": "mbv3-cifar"}, "Did you mean"),
        ({"num_classes": 0}, "num_classes must be a positive integer"),
        ({"num_classes": -1}, "num_classes must be a positive integer"),
        ({"num_classes": 2.5}, "num_classes must be a positive integer"),
        ({"num_classes": "10"}, "num_classes must be a positive integer"),
        ({"dropout": 2.0}, r"dropout must be a probability in \[0, 1\)"),
        ({"kernel_transform": "no"}, "kernel_transform must be True or False, got 'no'"),
        ({"space": dataclasses.replace(CIFAR, name="my-space")}, "'my-space' is not one of the named spaces"),
    ],
)
def test_constructor_refuses_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        Supernet(**({"space": CIFAR, "num_classes": 10} | kwargs))


def test_constructor_takes_numpy_numbers_as_python_ones() -> None:
    net = Supernet(CIFAR, num_classes=np.int64(7), dropout=np.float32(0.25))
    assert (type(net.num_classes), net.num_classes, type(net.dropout)) == (int, 7, float)


def test_extract_keeps_the_supernets_dtype_and_frozen_weights() -> None:
    """A float64 (or bfloat16) supernet extracts a float64 subnet that runs and matches; weights
    frozen in the supernet stay frozen in the subnet."""
    net = Supernet(CIFAR, num_classes=10).double().eval()
    cfg = CIFAR.sample(np.random.default_rng(3))
    net.set_active(cfg)
    net.blocks[cfg.active_blocks()[1]].requires_grad_(False)
    sub = net.extract(cfg)
    assert {p.dtype for p in sub.parameters()} == {torch.float64}
    assert [p.requires_grad for p in sub.blocks[1].parameters()] == [False] * len(list(sub.blocks[1].parameters()))
    assert all(p.requires_grad for p in sub.blocks[0].parameters())
    x = torch.randn(2, 3, cfg.resolution, cfg.resolution, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(sub(x), net(x))


@pytest.mark.parametrize("cfg", [None, {"space": "mbv3-w1.0-cifar"}], ids=["none", "dict"])
def test_set_active_and_extract_refuse_what_is_no_config(net: Supernet, cfg) -> None:
    before = net.active
    for call in (net.set_active, net.extract):
        if cfg is None and call == net.extract:
            continue  # extract(None) means the active subnet
        with pytest.raises(UserError, match="expected a SubnetConfig"):
            call(cfg)
    assert net.active == before


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.randn(2, 1, 32, 32), "has 1 channels"),
        (torch.randn(3, 32, 32), r"add the batch dimension with x\[None\]"),
        (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), "is torch.uint8"),
        (torch.randn(1, 3, 32, 32, dtype=torch.float64), "is torch.float64"),
        (np.zeros((1, 3, 32, 32), np.float32), "not a torch.Tensor"),
        (torch.randn(1, 3, 1, 1), "1x1 px but the active subnet runs at 32 px"),
    ],
    ids=["one-channel", "no-batch", "uint8", "float64", "numpy", "too-small"],
)
def test_a_wrong_input_is_named_not_a_torch_error(net: Supernet, x, message: str) -> None:
    was_training = net.training
    net.set_active(CIFAR.max(32))
    net.train()
    with pytest.raises(UserError, match=message):
        net(x)
    net.eval()
    if x.shape[-1] > 1:  # in eval mode a 1x1 image runs: only the training-mode BN fails on it
        with pytest.raises(UserError, match=message):
            net.extract()(x)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    net.train(was_training)
