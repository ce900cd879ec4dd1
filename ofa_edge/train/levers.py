"""Hooks for training-cost levers (SpFDE: layer freezing, data sieving, sparse training).

A lever is an object the trainer calls at fixed points of the loop; every hook has a no-op
default, so a lever overrides only what it needs. Levers keep their own state and hand it to
the checkpoint (tensors and JSON apart), so they survive ``--resume``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ofa_edge.space.config import SubnetConfig
from ofa_edge.supernet import Supernet


class Lever:
    """Base class: override the hooks a lever needs."""

    name: str = "lever"
    epochs: int | None = None  # the run length the lever's schedule was planned for (None: any); others are refused
    seed: int | None = None  # the run seed its randomness comes from (None: it draws none); others are refused

    def setup(self, net: Supernet, optimizer: torch.optim.Optimizer, num_samples: int) -> None:
        """Called once before training (after a resume has restored state)."""

    def epoch_size(self, num_samples: int) -> int:
        """How many samples an epoch trains on (sieving holds some out); fixed for the run."""
        return num_samples

    def held_out(self, num_samples: int) -> str:
        """Why :meth:`epoch_size` is below ``num_samples`` and the option that sets it ("" when it is not)."""
        return ""

    def epoch_order(self, epoch: int, order: torch.Tensor) -> torch.Tensor:
        """The sample indices of ``epoch``, at least ``epoch_size`` of them (sieving picks which)."""
        return order

    def on_epoch_start(self, epoch: int, net: Supernet) -> None:
        """E.g. freeze blocks (``requires_grad_(False)``) from this epoch on. Also called at the first
        step of a run resumed mid-epoch, so it must be idempotent."""

    def after_backward(self, net: Supernet, it: int) -> None:
        """Gradients are complete (before the optimizer step): mask or drop them, prune and grow."""

    def after_step(self, net: Supernet, it: int) -> None:
        """Weights were updated: re-apply masks."""

    def on_batch(self, indices: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """The detached logits of the step's first subnet for its samples (e.g. forgetting events): the
        max subnet in sandwich steps and full-model phases, a random one in OFA's elastic phases."""

    def on_step_done(self, cfgs: Sequence[SubnetConfig], images: int) -> None:
        """The step trained ``cfgs`` on ``images`` images (all processes): cost accounting."""

    def settings(self) -> dict[str, Any]:
        """What the lever was set to (JSON), kept in the trained supernet's metadata."""
        return {}

    def flops_saved(self) -> dict[str, float]:
        """Training FLOPs saved so far, by cause (the cost ledger reports them)."""
        return {}

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(tensors, JSON-serialisable state) for the checkpoint."""
        return {}, {}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state` returned."""
