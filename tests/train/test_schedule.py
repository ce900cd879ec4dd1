"""The LR schedule and the ε-shrinking weight β follow their formulas exactly."""

from __future__ import annotations

import math

import pytest

from ofa_edge.space import SearchSpace
from ofa_edge.train.methods import DepS, MethodParams
from ofa_edge.train.schedule import cosine_lr, eps_beta


def test_cosine_lr_warmup_and_decay() -> None:
    assert cosine_lr(0, 100, 0.4, warmup=4) == pytest.approx(0.1)
    assert cosine_lr(3, 100, 0.4, warmup=4) == pytest.approx(0.4)
    assert cosine_lr(4, 100, 0.4, warmup=4) == pytest.approx(0.4)
    assert cosine_lr(52, 100, 0.4, warmup=4) == pytest.approx(0.2)
    assert cosine_lr(100, 100, 0.4, warmup=4) == pytest.approx(0.0, abs=1e-12)


def test_eps_beta_ramps_effective_lr_linearly() -> None:
    def lr(it: int) -> float:
        return cosine_lr(it, 200, 0.1)

    start, ramp, m = 50, 20, 0.8
    assert all(eps_beta(it, start, ramp, m, lr) == 0.0 for it in range(start))
    target = m * lr(start + ramp - 1)
    for i in range(ramp):
        it = start + i
        assert eps_beta(it, start, ramp, m, lr) * lr(it) == pytest.approx((i + 1) / ramp * target, rel=1e-12)
    assert eps_beta(start + ramp - 1, start, ramp, m, lr) == pytest.approx(m)
    assert all(eps_beta(it, start, ramp, m, lr) == m for it in range(start + ramp, 200))


def test_deps_plan_uses_the_beta_schedule() -> None:
    space = SearchSpace.get("mbv3-w1.0-cifar")
    p = MethodParams(
        epochs=10, steps_per_epoch=7, lr=0.2, lr_warmup_epochs=1, warmup_frac=0.4, eps_epochs=2, beta_mult=1.0
    )
    deps = DepS(space, p)
    start, ramp = 4 * 7, 2 * 7
    for it in range(p.total_iters):
        plan = deps.plan(it)
        lr = cosine_lr(it, 70, 0.2, warmup=7)
        assert plan.lr == pytest.approx(lr)
        want = eps_beta(it, start, ramp, 1.0, lambda i: cosine_lr(i, 70, 0.2, warmup=7))
        assert plan.beta == pytest.approx(want)
        if it >= start:
            assert [j.weight for j in plan.jobs[1:]] == [pytest.approx(want)] * 3
    # the effective LR of the subnets rises linearly over the ramp, reaching the schedule's LR
    eff = [deps.plan(it).beta * cosine_lr(it, 70, 0.2, warmup=7) for it in range(start, start + ramp)]
    steps = [b - a for a, b in zip([0.0, *eff], eff)]
    assert all(math.isclose(s, steps[0], rel_tol=1e-9) for s in steps)
    assert eff[-1] == pytest.approx(cosine_lr(start + ramp - 1, 70, 0.2, warmup=7))
