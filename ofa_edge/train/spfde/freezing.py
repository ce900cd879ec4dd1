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
            "--freeze-flops-target", self.flops_target, gt=0, lt=1, hint="(a fraction of training FLOPs, e.g. 0.1)"
        )


def unit_forward_macs(space: SearchSpace) -> list[int]:
    """Forward MACs per image of each unit (stem, blocks) of the max subnet: the planning weights."""
    r = max(space.resolutions)
    k, e = max(space.kernels), max(space.expands)
    stem = space.fixed_parts(r, 1)["stem"][1]
    return [stem] + [space.block_shape(r, b, k, e).macs() for b in range(NUM_BLOCKS)]


def plan_freezing(space: SearchSpace, num_classes: int, config: FreezeConfig, epochs: int) -> list[int]:
    """Epoch at which each unit freezes (front to back), as few units as reach the target.

    Freezing unit j at epoch t saves its backward (2x its forward) for the ``epochs - t``
    remaining epochs; the run's dense cost is 3x the full forward per epoch (max subnet).
    """
    units = unit_forward_macs(space)
    fixed = space.fixed_parts(max(space.resolutions), num_classes)
    total = sum(units) + fixed["head"][1] + fixed["classifier"][1]
    budget = config.flops_target * 3 * total * epochs
    saved, plan = 0.0, []
    for j, macs in enumerate(units):
        t = config.start + j * config.interval
        if t >= epochs:
            break
        plan.append(t)
        saved += 2 * macs * (epochs - t)
        if saved >= budget:
            return plan
    raise UserError(
        f"--freeze-flops-target {config.flops_target:g} is beyond the network: freezing "
        f"{len(plan)} of {NUM_UNITS} units (stem and blocks, from epoch {config.start}, one every "
        f"{config.interval}) by epoch {epochs} saves only {saved / (3 * total * epochs):.1%} of the "
        "training FLOPs. Lower the target, start earlier or freeze more often."
    )


def units_of(net: Supernet) -> list[nn.Module]:
    """The freezable units of a supernet, front to back."""
    return [net.stem, *net.blocks]


class LayerFreezer:
    """Applies a freezing plan to a supernet epoch by epoch."""

    def __init__(self, net: Supernet, config: FreezeConfig, epochs: int) -> None:
        self.config = config
        self.epochs = epochs
        self.plan = plan_freezing(net.space, net.num_classes, config, epochs)
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
