"""HSPG: proximal phase shrinks groups by lr*lam; half-space projection exactly when t.x < eps ||x||^2."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.prune import HSPG, partition


def _net() -> nn.Sequential:
    # 4 groups: conv row o (2 weights) + BN gamma_o + beta_o; the linear's columns ride along.
    return nn.Sequential(
        nn.Conv2d(2, 4, 1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def _set(net: nn.Sequential, x: torch.Tensor, g: torch.Tensor) -> None:
    """Group o's variables are x[o] = (w_o0, w_o1, gamma_o, beta_o), gradients g[o]."""
    conv, bn = net[0], net[1]
    with torch.no_grad():
        conv.weight.copy_(x[:, :2, None, None])
        bn.weight.copy_(x[:, 2])
        bn.bias.copy_(x[:, 3])
    conv.weight.grad = g[:, :2, None, None].clone()
    bn.weight.grad = g[:, 2].clone()
    bn.bias.grad = g[:, 3].clone()
    for p in net[5].parameters():
        p.grad = torch.zeros_like(p)


def _get(net: nn.Sequential) -> torch.Tensor:
    conv, bn = net[0], net[1]
    return torch.cat([conv.weight[:, :, 0, 0], bn.weight[:, None], bn.bias[:, None]], 1).detach()


X = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5], [2.0, -1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
G = torch.tensor([[12.0, 0.0, 12.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0], [5.0, 5.0, 5.0, 5.0]])


@pytest.mark.parametrize("epsilon", [0.0, 0.3, 0.6, 0.9])
def test_half_space_projection_matches_the_condition(epsilon: float) -> None:
    lr, lam = 0.1, 0.5
    net = _net()
    part = partition(net, torch.randn(1, 2, 3, 3))
    assert part.num_groups == 4
    _set(net, X, G)
    HSPG(part, lr=lr, lam=lam, prox_steps=0, epsilon=epsilon, momentum=0.0).step()
    got = _get(net)
    for o in range(4):
        x, g = X[o], G[o]
        if x.norm() == 0:  # zero groups stay zero whatever their gradient
            assert torch.equal(got[o], torch.zeros(4))
            continue
        trial = x - lr * (g + lam * x / x.norm())
        if float(trial @ x) < epsilon * float(x @ x):
            assert torch.equal(got[o], torch.zeros(4)), (o, epsilon)
        else:
            torch.testing.assert_close(got[o], trial)
    # The hand-made groups straddle the thresholds: group 0 is projected at every epsilon,
    # group 1 only once epsilon exceeds 0.75 (t.x = 0.75 ||x||^2), group 2 never.
    projected = (got.abs().sum(1) == 0).tolist()
    assert projected[:3] == [True, epsilon > 0.75, False]


def test_proximal_phase_shrinks_by_lr_lambda() -> None:
    lr, lam = 0.1, 2.0
    net = _net()
    part = partition(net, torch.randn(1, 2, 3, 3))
    _set(net, X, torch.zeros_like(G))
    HSPG(part, lr=lr, lam=lam, prox_steps=1, momentum=0.0).step()
    got = _get(net)
    for o in range(4):
        n = X[o].norm()
        want = torch.zeros(4) if n <= lr * lam else X[o] * (1 - lr * lam / n)
        torch.testing.assert_close(got[o], want)


def test_max_sparsity_caps_projections() -> None:
    net = _net()
    part = partition(net, torch.randn(1, 2, 3, 3))
    _set(net, X, G * 100)  # every non-zero group would be projected
    HSPG(part, lr=0.1, lam=0.0, prox_steps=0, momentum=0.0, max_sparsity=0.5).step()
    assert int(part.zero_mask().sum()) == 2  # the zero group 3 plus one more


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epsilon": 1.0}, r"epsilon 1: must be in \[0, 1\)"),
        ({"lam": -0.1}, "lam -0.1: must be >= 0"),
        ({"lr": -1.0}, "lr -1: must be > 0"),
        ({"prox_steps": -1}, "prox_steps -1: must be >= 0"),
        ({"max_sparsity": 1.5}, r"max_sparsity 1.5: must be in \[0, 1\]"),
    ],
)
def test_bad_arguments_are_user_errors_naming_the_parameter(kwargs, message) -> None:
    """They were plain ValueErrors (epsilon, lam) or not checked at all."""
    part = partition(_net(), torch.randn(1, 2, 3, 3))
    with pytest.raises(UserError, match=message):
        HSPG(part, **{"lr": 0.1, "lam": 0.1, "prox_steps": 0, **kwargs})


def test_max_sparsity_caps_the_proximal_phase_too() -> None:
    """A large lam zeroes every group in one proximal step; the cap still holds (the smallest go)."""
    net = _net()
    part = partition(net, torch.randn(1, 2, 3, 3))
    _set(net, X, G)
    HSPG(part, lr=0.1, lam=1e4, prox_steps=5, momentum=0.0, max_sparsity=0.5).step()
    assert int(part.zero_mask().sum()) == 2
