"""HESSO reaches the target group sparsity through its pruning periods, no lambda needed."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision

from ofa_edge.errors import UserError
from ofa_edge.prune import HESSO, partition


def _train(net, opt, steps: int, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(4, 3, 32, 32, generator=g)
        y = torch.randint(0, 10, (4,), generator=g)
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()


@pytest.fixture()
def mbv3():
    torch.manual_seed(0)
    net = torchvision.models.mobilenet_v3_small(num_classes=10)
    return net, partition(net, torch.randn(1, 3, 32, 32))


@pytest.mark.parametrize("target", [0.3, 0.7])
def test_reaches_target_sparsity(mbv3, target: float) -> None:
    net, part = mbv3
    opt = HESSO(part, lr=0.01, target_sparsity=target, pruning_steps=6, start_step=1, periods=3)
    _train(net, opt, 1)
    assert part.group_sparsity() == 0.0  # warm-up: nothing pruned yet
    _train(net, opt, 3)  # half-way: period 1 done, period 2 fading
    mid = int(part.zero_mask().sum())
    assert 0 < mid < int(target * part.num_groups)
    _train(net, opt, 5)  # rest of the window and beyond: pruned groups stay exactly zero
    assert int(part.zero_mask().sum()) == int(target * part.num_groups)
    assert part.group_sparsity() >= target - 1 / part.num_groups


def test_every_space_keeps_a_group(mbv3) -> None:
    net, part = mbv3
    opt = HESSO(part, lr=0.01, target_sparsity=0.999, pruning_steps=2, periods=1)
    _train(net, opt, 2)
    zero = part.zero_mask()
    assert int(zero.sum()) == part.num_groups - len(part.spaces)
    assert all(len(k) == 1 for k in part.keep_indices(zero))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_sparsity": 1.0}, r"target_sparsity 1: must be in \(0, 1\)"),
        ({"target_sparsity": "0.5"}, "target_sparsity '0.5': must be a number"),
        ({"lr": 0.0}, "lr 0: must be > 0"),
        ({"pruning_steps": 3, "periods": 5}, "pruning_steps 3: must be >= 5"),
        ({"periods": 0}, "periods 0: must be >= 1"),
        ({"start_step": -1}, "start_step -1: must be >= 0"),
        ({"momentum": 1.5}, r"momentum 1.5: must be in \[0, 1\)"),
        ({"weight_decay": -1e-4}, "weight_decay -0.0001: must be >= 0"),
        ({"criteria": {"magnitud": 1.0}}, "unknown importance criteria.*'magnitud'.*Did you mean 'magnitude'"),
    ],
)
def test_bad_arguments_are_user_errors_naming_the_parameter(mbv3, kwargs, message) -> None:
    """A bad target_sparsity was a plain ValueError; a misspelt criterion failed only at the first pruning step."""
    args = {"lr": 0.01, "target_sparsity": 0.5, "pruning_steps": 8, **kwargs}
    with pytest.raises(UserError, match=message):
        HESSO(mbv3[1], **args)
