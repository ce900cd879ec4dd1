"""Progressive freezing: the plan, no gradients and no optimizer updates for frozen units."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ofa_edge.data.transforms import normalize
from ofa_edge.errors import UserError
from ofa_edge.space import SearchSpace
from ofa_edge.supernet.network import Supernet
from ofa_edge.train.spfde.freezing import (
    NUM_UNITS,
    FreezeConfig,
    LayerFreezer,
    plan_freezing,
    units_of,
)
from ofa_edge.train.spfde.options import freezing_plan_note, resolve_spfde

SPACE = "mbv3-w1.0-cifar"


def test_plan_front_to_back_until_target():
    sp = SearchSpace.get(SPACE)
    small, _ = plan_freezing(sp, 10, FreezeConfig(start=4, interval=2, flops_target=0.05), epochs=40)
    big, big_share = plan_freezing(sp, 10, FreezeConfig(start=4, interval=2, flops_target=0.15), epochs=40)
    assert small[0] == 4 and big[0] == 4
    assert np.all(np.diff(big) == 2)
    assert 1 <= len(small) < len(big) <= NUM_UNITS
    # the planned saving reaches the target and one unit fewer would not
    from ofa_edge.train.spfde.freezing import unit_forward_macs

    macs = unit_forward_macs(sp)
    fixed = sp.fixed_parts(32, 10)
    dense = 3 * 40 * (sum(macs) + fixed["head"][1] + fixed["classifier"][1])
    saved = [2 * macs[j] * (40 - t) for j, t in enumerate(big)]
    assert sum(saved) >= 0.15 * dense > sum(saved[:-1])
    assert big_share == pytest.approx(sum(saved) / dense)


@pytest.mark.parametrize(
    ("cfg", "epochs", "needle"),
    [
        (FreezeConfig(start=2, interval=1, flops_target=0.9), 40, "beyond the network"),
        (FreezeConfig(start=39, interval=1, flops_target=0.1), 40, "beyond the network"),
    ],
)
def test_unreachable_target_is_user_error(cfg, epochs, needle):
    with pytest.raises(UserError, match=needle):
        plan_freezing(SearchSpace.get(SPACE), 10, cfg, epochs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": -1, "interval": 1, "flops_target": 0.1},
        {"start": 0, "interval": 0, "flops_target": 0.1},
        {"start": 0, "interval": 1, "flops_target": 0.0},
        {"start": 0, "interval": 1, "flops_target": 1.0},
    ],
)
def test_bad_freeze_config_is_user_error(kwargs):
    with pytest.raises(UserError):
        FreezeConfig(**kwargs)


@pytest.mark.parametrize("opt_cls", [torch.optim.SGD, torch.optim.AdamW])
def test_frozen_units_get_no_gradient_and_no_update(cifar_test_small, opt_cls):
    torch.manual_seed(0)
    net = Supernet(SPACE)
    x = normalize(cifar_test_small.images[:4], net.space.mean, net.space.std)
    y = cifar_test_small.labels[:4]
    kw = {"momentum": 0.9, "weight_decay": 1e-2} if opt_cls is torch.optim.SGD else {"weight_decay": 1e-2}
    opt = opt_cls(net.parameters(), lr=0.1, **kw)
    net.set_active(net.space.min(32))
    # one step before freezing so momentum / Adam moments exist for every parameter
    F.cross_entropy(net(x), y).backward()
    opt.step()
    freezer = LayerFreezer(net, FreezeConfig(start=1, interval=1, flops_target=0.1), epochs=10)
    frozen = freezer.step(net, epoch=freezer.plan[-1])
    assert frozen == len(freezer.plan) >= 2
    units = units_of(net)
    snap = {id(p): p.detach().clone() for u in units[:frozen] for p in u.parameters()}
    rest = [p for u in units[frozen:] for p in u.parameters()] + list(net.head.parameters())
    before_rest = [p.detach().clone() for p in rest]
    seen = []  # (requires_grad, grad_fn) of every frozen unit's output: no autograd graph may exist
    for u in units[:frozen]:
        u.register_forward_hook(lambda m, i, o: seen.append(o.requires_grad or o.grad_fn is not None))
    first_live = units[frozen]
    first_live.register_forward_hook(lambda m, i, o: seen.append(i[0].requires_grad))
    for step in range(2):
        net.set_active(dataclasses.replace(net.space.sample(np.random.default_rng(step)), resolution=32))
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        for u in units[:frozen]:
            assert all(p.grad is None for p in u.parameters())
        opt.step()
    assert seen and not any(seen), "a frozen unit built an autograd graph"
    for u in units[:frozen]:
        for p in u.parameters():
            assert torch.equal(p, snap[id(p)]), "frozen weight changed"
    assert any(not torch.equal(p, b) for p, b in zip(rest, before_rest))


def test_plan_note_is_the_trained_networks_plan_with_its_saving():
    sp = SearchSpace.get("mbv3-w1.0-cifar")
    cfg = FreezeConfig(2, 1, 0.1)
    plan, share = plan_freezing(sp, 100, cfg, 30)
    assert 0.1 <= share < 0.13  # the last unit overshoots a little
    assert plan[:2] == [2, 3]
    assert freezing_plan_note(sp, 100, cfg, 30) == (
        f"freezing: {len(plan)} unit(s) (stem, then blocks), one after each of epochs {', '.join(map(str, plan))}, "
        f"a planned saving of {share * 100:.3g}% of the training FLOPs (target 10%)"
    )
    # at one decimal a target of 0.0015 read "0.1%" (and 0.00158 saved "0.2%")
    plan, share = plan_freezing(sp, 10, FreezeConfig(1, 1, 0.0015), 2)
    assert freezing_plan_note(sp, 10, FreezeConfig(1, 1, 0.0015), 2).endswith(
        f"a planned saving of {share * 100:.3g}% of the training FLOPs (target 0.15%)"
    )


@pytest.mark.parametrize(
    ("cfg", "epochs", "advice", "not_advised"),
    [
        # interval 1 already: "freeze more often" was advised anyway; epoch 0 is the only earlier start
        (
            FreezeConfig(1, 1, 0.05),
            2,
            ["start earlier (--freeze-start 0 can save up to", ", the stem untrained)"],
            ["interval"],
        ),
        # nothing but a lower target is possible
        (FreezeConfig(0, 1, 0.9), 40, ["lower the target to"], ["--freeze-start", "--freeze-interval"]),
        (
            FreezeConfig(10, 3, 0.5),
            40,
            [
                "lower the target to",
                "start earlier (--freeze-start 1 can save up to",
                "(--freeze-interval 1 can save up to",
            ],
            ["untrained"],
        ),
    ],
)
def test_a_target_beyond_reach_is_told_only_what_can_reach_further(cfg, epochs, advice, not_advised):
    sp = SearchSpace.get(SPACE)
    with pytest.raises(UserError) as info:
        plan_freezing(sp, 10, cfg, epochs)
    message = str(info.value)
    assert all(a in message for a in advice) and not any(n in message for n in not_advised), message
    lower = float(message.split("lower the target to ")[1].split(" ")[0])  # advised: it is reached
    assert plan_freezing(sp, 10, dataclasses.replace(cfg, flops_target=lower), epochs)[1] >= lower
    said = re.findall(r"\((--freeze-\w+ \d+) can save up to ([\d.]+)%", message)
    assert len(said) == sum("can save up to" in a for a in advice)
    for option, saves in said:  # as said: what freezing every unit it can from there saves
        name, value = option.split()
        changed = dataclasses.replace(cfg, **{name.removeprefix("--freeze-"): int(value), "flops_target": 0.99})
        with pytest.raises(UserError, match=f"saves only {re.escape(saves)}% of the training FLOPs"):
            plan_freezing(sp, 10, changed, epochs)


def test_the_plan_counts_epochs_as_the_epoch_lines_do():
    """The plan read "at epochs [1]" (0-based) beside "epoch 1/2" lines counted from 1: --freeze-start 1 freezes the
    stem once epoch 1 is done, and the note says so; 0 freezes it before epoch 1."""
    sp = SearchSpace.get(SPACE)
    note = freezing_plan_note(sp, 10, FreezeConfig(1, 1, 0.001), 2)
    assert note.startswith("freezing: 1 unit(s) (stem, then blocks), one after epoch 1, a planned saving"), note
    note = freezing_plan_note(sp, 10, FreezeConfig(0, 1, 0.06), 4)
    assert note.startswith("freezing: 4 unit(s) (stem, then blocks), one before epoch 1, then one after each of "
                           "epochs 1, 2, 3, a planned"), note  # fmt: skip
    _, notes = resolve_spfde(SPACE, 40, freeze_flops_target=0.05)
    assert "freeze-start (T_frz): 20, the first freeze after epoch 20 (half the run)" in notes
    with pytest.raises(
        UserError, match=r"units \(stem and blocks, the first after epoch 1, one every 1 epoch\(s\)\) in 2 "
    ):
        plan_freezing(sp, 10, FreezeConfig(1, 1, 0.05), 2)


@pytest.mark.parametrize(("epochs", "fix"), [(10, "--freeze-start 1 or later trains it first"), (1, "--epochs 2")])
def test_freezing_from_epoch_0_notes_the_untrained_stem(epochs, fix):
    _, notes = resolve_spfde(SPACE, epochs, freeze_flops_target=0.001, freeze_start=0)
    (note,) = [n for n in notes if "stem" in n and "random" in n]
    assert note.startswith("freezing before epoch 1 (--freeze-start 0) freezes the stem before its first step")
    assert fix in note
    _, later = resolve_spfde(SPACE, 10, freeze_flops_target=0.01, freeze_start=1)
    assert not any("random initial weights" in n for n in later)


def test_a_refused_target_is_told_a_saving_below_it():
    """`--method compofa --epochs 4 --freeze-flops-target 0.01` was refused as saving "only 1.0%" (0.969% at one
    decimal), the target itself."""
    sp = SearchSpace.get(SPACE)
    with pytest.raises(UserError) as info:
        plan_freezing(sp, 10, FreezeConfig(2, 1, 0.01), 4)
    message = str(info.value)
    saves = float(re.search(r"saves only ([\d.]+)% of the training FLOPs", message).group(1))
    lower = float(message.split("lower the target to ")[1].split(" ")[0])
    assert saves < 1.0 and saves == pytest.approx(lower * 100, rel=1e-2), message
