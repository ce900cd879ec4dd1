"""Prune-and-grow masks: exact sparsity, exact N:M, carried into extraction."""

from __future__ import annotations

import dataclasses
import itertools
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ofa_edge.data.transforms import normalize
from ofa_edge.errors import UserError
from ofa_edge.supernet.network import Supernet
from ofa_edge.train.spfde.sparsity import SparseMasks, SparsityConfig, masked_layers

SPACE = "mbv3-w1.0-cifar"


def _train_steps(net, masks, images, labels, steps, opt):
    x = normalize(images, net.space.mean, net.space.std)
    for i in range(steps):
        net.set_active(
            net.space.min(32)
        )  # the smallest subnet (at the images' 32 px) keeps the test fast; masks cover all shared weights
        opt.zero_grad()
        F.cross_entropy(net(x), labels).backward()
        opt.step()
        masks.apply(net)


def _groups_live(t: torch.Tensor, m: int) -> torch.Tensor:
    """Live count per group of ``m`` consecutive input channels of a conv weight."""
    _o, i, _kh, _kw = t.shape
    return (t != 0).permute(0, 2, 3, 1).reshape(-1, i // m, m).sum(-1)


@pytest.fixture(scope="module")
def batch(cifar_test_small):
    return cifar_test_small.images[:4], cifar_test_small.labels[:4]


@pytest.mark.parametrize("grow", ["gradient", "random"])
def test_unstructured_keeps_exact_sparsity_through_cycles(batch, grow):
    torch.manual_seed(0)
    net = Supernet(SPACE)
    masks = SparseMasks(net, SparsityConfig(0.8, grow=grow), seed=1)
    first = {k: v.clone() for k, v in masks.masks.items()}
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    params = dict(net.named_parameters())
    for _ in range(2):
        _train_steps(net, masks, *batch, steps=1, opt=opt)
        old = {k: v.clone() for k, v in masks.masks.items()}
        assert masks.update(net, 0.3, opt) > 0
        for name, m in masks.masks.items():
            assert int(m.sum()) == m.numel() - round(0.8 * m.numel()), name
            assert not params[name][~m].any(), f"{name} has weight outside its mask"
            state = opt.state.get(params[name], {})
            if "momentum_buffer" in state:  # grown weights restart with zero momentum
                assert not state["momentum_buffer"][m & ~old[name]].any(), name
    changed = sum(int((masks.masks[k] != first[k]).sum()) for k in first)
    assert changed > 0
    assert "stem.conv.weight" not in masks.masks  # first conv dense
    assert not any(".dw." in k for k in masks.masks)  # depthwise dense
    assert params["stem.conv.weight"].ne(0).all()


def test_two_four_pattern_exact_after_cycles_and_in_extracted_subnet(batch):
    torch.manual_seed(0)
    net = Supernet(SPACE)
    masks = SparseMasks(net, SparsityConfig(0.5, "2:4"), seed=2)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    before = {k: v.clone() for k, v in masks.masks.items()}
    for _ in range(2):
        _train_steps(net, masks, *batch, steps=1, opt=opt)
        masks.update(net, 0.5, opt)
        for name, m in masks.masks.items():
            assert (_groups_live(m, 4) == 2).all(), name
    assert any((masks.masks[k] != before[k]).any() for k in before)
    assert masks.density() == 0.5
    # masks ride into extraction: every 1x1 conv of a sliced subnet is 2:4 along its inputs
    cfg = dataclasses.replace(net.space.sample(np.random.default_rng(5)), resolution=32)  # the images' size
    sub = net.extract(cfg).eval()
    for name, w in sub.named_parameters():
        if w.dim() == 4 and w.shape[1] > 1 and name.endswith(("expand.weight", "proj.weight", "mix.weight")):
            assert (_groups_live(w.detach(), 4) <= 2).all(), name
    net.set_active(cfg)
    net.eval()
    x = normalize(batch[0], net.space.mean, net.space.std)
    torch.testing.assert_close(sub(x), net(x))


def test_update_fraction_decays_to_zero():
    cfg = SparsityConfig(0.9, interval=2, update_fraction=0.3, update_end=0.5)
    fr = [cfg.fraction_at(e, 20) for e in range(20)]
    assert fr[0] == pytest.approx(0.3 * 0.5 * (1 + np.cos(np.pi / 10)))
    assert all(a >= b for a, b in itertools.pairwise(fr))
    assert fr[9] == 0.0 and fr[19] == 0.0
    assert [e for e in range(6) if cfg.updates_at(e)] == [1, 3, 5]


def test_frozen_weights_keep_their_masks():
    net = Supernet(SPACE)
    masks = SparseMasks(net, SparsityConfig(0.5))
    for p in net.blocks[0].parameters():
        p.requires_grad_(False)
    before = masks.masks["blocks.0.expand.weight"].clone()
    trainable = masks.masks["blocks.1.expand.weight"].clone()
    masks.update(net, 0.5)
    assert torch.equal(masks.masks["blocks.0.expand.weight"], before)
    assert not torch.equal(masks.masks["blocks.1.expand.weight"], trainable)  # the update did run


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"sparsity": 1.0}, "(0, 1)"),
        ({"sparsity": 0.0}, "(0, 1)"),
        ({"sparsity": -0.1}, "(0, 1)"),
        ({"sparsity": 0.9, "pattern": "2:4"}, "contradicts"),
        ({"sparsity": 0.5, "pattern": "dense"}, "N:M"),
        ({"sparsity": 0.5, "pattern": "4:2"}, "0 < N < M"),
        ({"sparsity": 0.5, "interval": 0}, "--mask-interval"),
    ],
)
def test_bad_config_is_user_error(kwargs, needle):
    with pytest.raises(UserError, match=re.escape(needle)):
        SparsityConfig(**kwargs)


def test_nm_that_does_not_divide_channels_is_user_error():
    net = Supernet(SPACE)
    with pytest.raises(UserError, match="does not divide"):
        SparseMasks(net, SparsityConfig(1 - 2 / 3, "2:3"))
    # 2:8 divides every width of this space
    assert all(w % 8 == 0 for ws in masked_layers(net.space).values() for w in ws)


@pytest.mark.parametrize("pattern", ["unstructured", "2:4"])
def test_an_update_moves_its_fraction_of_the_live_weights_in_either_pattern(batch, pattern):
    """--mask-update-frac counts live weights for N:M masks too (it once counted 2:4 groups: half)."""
    torch.manual_seed(0)
    net = Supernet(SPACE)
    masks = SparseMasks(net, SparsityConfig(0.5, pattern), seed=3)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    _train_steps(net, masks, *batch, steps=1, opt=opt)
    live = sum(int(m.sum()) for m in masks.masks.values())
    assert masks.update(net, 0.3, opt) / live == pytest.approx(0.3, abs=0.01)
