"""Progressive layer freezing (SpFDE): blocks freeze front to back until a FLOPs target is met.

The units of a supernet, front to back, are the stem and the 20 elastic blocks; the head
never freezes. The first unit freezes at epoch ``start`` (T_frz), one more every
``interval`` epochs (Δτ), and no more once the planned saving reaches ``flops_target``
(a fraction of the run's dense training FLOPs). In a supernet freezing applies to the shared
weights: a frozen block is frozen for every subnet that runs it.

A frozen unit keeps its weights (and its sparsity mask): its parameters get
``requires_grad=False`` and ``grad=None``, so PyTorch's optimizers skip them entirely (no
update, no weight decay, no momentum drift). Its backward is skipped for real, with no hook
in the forward pass: units freeze front to back, so the frozen units of any subnet are a
prefix of its forward pass whose inputs (the images) and parameters all have
``requires_grad=False``; autograd records no operation whose inputs need no gradient, so no
graph (and no saved activation) exists for the prefix, exactly as under ``torch.no_grad()``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.space.search_space import NUM_BLOCKS, SearchSpace
from ofa_edge.supernet.network import Supernet
from ofa_edge.units import check_range

NUM_UNITS = 1 + NUM_BLOCKS  # stem + elastic blocks; the head stays trainable


@dataclass(frozen=True)
class FreezeConfig:
    """T_frz (``start``, 0-based epoch), Δτ (``interval``, epochs) and the FLOPs-saving target."""

    start: int
    interval: int
    flops_target: float

    def __post_init__(self) -> None:
        check_range("--freeze-start", self.start, ge=0, hint="(an epoch)")
        check_range("--freeze-interval", self.interval, ge=1, hint="epoch (its default is --mask-interval)")
        check_range(
            "--freeze-flops-target", self.flops_target, gt=0, lt=1, hint="(a fraction of training FLOPs, e.g. 0.05)"
        )


def unit_forward_macs(space: SearchSpace) -> list[int]:
    """Forward MACs per image of each unit (stem, blocks) of the max subnet: the planning weights."""
    r = max(space.resolutions)
    k, e = max(space.kernels), max(space.expands)
    stem = space.fixed_parts(r, 1)["stem"][1]
    return [stem] + [space.block_shape(r, b, k, e).macs() for b in range(NUM_BLOCKS)]


def _dense_macs(space: SearchSpace, num_classes: int) -> tuple[list[int], int]:
    """Forward MACs per image of each unit and of the whole max subnet."""
    units = unit_forward_macs(space)
    fixed = space.fixed_parts(max(space.resolutions), num_classes)
    return units, sum(units) + fixed["head"][1] + fixed["classifier"][1]


def _schedule(
    units: list[int], total: int, start: int, interval: int, epochs: int, target: float = 1.0
) -> tuple[list[int], float]:
    """Freeze epochs of the units, front to back from ``start`` every ``interval``, as few as reach
    ``target`` (all that fit in the run if none do); and the share of the run's training FLOPs they save.

    Freezing unit j at epoch t saves its backward (2x its forward) for the ``epochs - t``
    remaining epochs; the run's dense cost is 3x the full forward per epoch (max subnet).
    """
    dense = 3 * total * epochs
    saved, plan = 0.0, []
    for j, macs in enumerate(units):
        t = start + j * interval
        if t >= epochs:
            break
        plan.append(t)
        saved += 2 * macs * (epochs - t)
        if saved >= target * dense:
            break
    return plan, saved / dense


def _floor3(x: float) -> float:
    """``x`` rounded down to three significant digits (a target that is surely reached)."""
    step = 10.0 ** (math.floor(math.log10(x)) - 2)
    return math.floor(x / step) * step


def flops_percent(share: float) -> str:
    """A share of the FLOPs to three significant digits (0.969%: one decimal read "1.0%" beside a target of 1%)."""
    return f"{share * 100:.3g}%"


def freeze_time(epoch: int) -> str:
    """When a unit freezing at 0-based ``epoch`` freezes, in the epochs the run's lines count from 1."""
    return "before epoch 1" if epoch == 0 else f"after epoch {epoch}"


def plan_freezing(space: SearchSpace, num_classes: int, config: FreezeConfig, epochs: int) -> tuple[list[int], float]:
    """Epoch at which each unit freezes (front to back), as few units as reach the target, and the share
    of the training FLOPs they save; a target beyond reach is a :class:`UserError` naming what reaches further."""
    units, total = _dense_macs(space, num_classes)
    plan, share = _schedule(units, total, config.start, config.interval, epochs, config.flops_target)
    if share >= config.flops_target:
        return plan, share
    fixes = [f"lower the target to {_floor3(share):.3g} or less"] if share > 0 else []
    if config.start > 0:
        earliest = 1 if config.start > 1 else 0  # epoch 0 would freeze the stem untrained
        at = _schedule(units, total, earliest, config.interval, epochs)[1]
        untrained = ", the stem untrained" if earliest == 0 else ""
        fixes.append(f"start earlier (--freeze-start {earliest} can save up to {flops_percent(at)}{untrained})")
    if config.interval > 1:
        every = _schedule(units, total, config.start, 1, epochs)[1]
        fixes.append(f"freeze every epoch (--freeze-interval 1 can save up to {flops_percent(every)})")
    raise UserError(
        f"--freeze-flops-target {config.flops_target:g} is beyond the network: freezing "
        f"{len(plan)} of {NUM_UNITS} units (stem and blocks, the first {freeze_time(config.start)}, one every "
        f"{config.interval} epoch(s)) in {epochs} epochs saves only {flops_percent(share)} of the training FLOPs"
        + (f"; {', or '.join(fixes)}." if fixes else "; drop --freeze-flops-target.")
    )


def units_of(net: Supernet) -> list[nn.Module]:
    """The freezable units of a supernet, front to back."""
    return [net.stem, *net.blocks]


class LayerFreezer:
    """Applies a freezing plan to a supernet epoch by epoch."""

    def __init__(self, net: Supernet, config: FreezeConfig, epochs: int) -> None:
        self.config = config
        self.epochs = epochs
        self.plan, _ = plan_freezing(net.space, net.num_classes, config, epochs)
        self.frozen = 0

    def frozen_at(self, epoch: int) -> int:
        """Units frozen during ``epoch`` (0-based)."""
        return sum(1 for t in self.plan if t <= epoch)

    def step(self, net: Supernet, epoch: int) -> int:
        """Freeze the units due by ``epoch`` (call at each epoch start); returns the frozen count."""
        self.frozen = self.frozen_at(epoch)
        for unit in units_of(net)[: self.frozen]:
            for p in unit.parameters():
                p.requires_grad_(False)
                p.grad = None
        return self.frozen

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        return {}, {"config": asdict(self.config), "epochs": self.epochs, "plan": self.plan, "frozen": self.frozen}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Check the saved plan is this run's; the trainer re-applies it with :meth:`step`."""
        if meta.get("config") != asdict(self.config) or meta.get("epochs") != self.epochs:
            raise UserError(
                f"the checkpoint's freezing settings {meta.get('config')} over {meta.get('epochs')} epochs differ "
                f"from this run's {asdict(self.config)} over {self.epochs}; resume with the same options."
            )
        self.plan = list(meta["plan"])
        self.frozen = int(meta["frozen"])
