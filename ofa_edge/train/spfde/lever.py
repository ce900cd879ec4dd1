"""The SpFDE levers as one trainer :class:`~ofa_edge.train.levers.Lever` (any method).

Hook order per epoch ``e``: ``epoch_order`` (sieve if one is due after epoch ``e-1``, then
train only the active set) -> ``on_epoch_start`` (freeze the units due by ``e``; schedule the
mask update due after ``e-1``) -> per step: ``on_batch`` (forgetting events from the first
subnet's predictions), ``after_backward`` (the scheduled prune-and-grow, with this step's
gradients; then the gradients of dead weights are zeroed), ``after_step`` (re-apply masks),
``on_step_done`` (FLOPs accounting). Every decision is a function of saved state and the
epoch, so a run resumed from any checkpoint replays the uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.distributed as dist

from ofa_edge.errors import UserError
from ofa_edge.space.config import SubnetConfig
from ofa_edge.supernet import Supernet
from ofa_edge.train.distributed import all_gather
from ofa_edge.train.levers import Lever
from ofa_edge.train.spfde.freezing import FreezeConfig, LayerFreezer
from ofa_edge.train.spfde.ledger import SavedFlops, SpfdeCost
from ofa_edge.train.spfde.sieving import CircularSieve, SieveConfig, sieving_saved_flops
from ofa_edge.train.spfde.sparsity import SparseMasks, SparsityConfig


@dataclass(frozen=True)
class SpfdeConfig:
    """Which levers are on (``None``: off) and their settings."""

    sparsity: SparsityConfig | None = None
    freezing: FreezeConfig | None = None
    sieving: SieveConfig | None = None

    @property
    def enabled(self) -> bool:
        return any(v is not None for v in (self.sparsity, self.freezing, self.sieving))

    def to_dict(self) -> dict[str, Any]:
        return {k: (asdict(v) if v is not None else None) for k, v in self.__dict__.items()}


class SpfdeLever(Lever):
    """Dynamic sparsity, progressive freezing and circular sieving inside the trainer's loop."""

    name = "spfde"

    def __init__(self, config: SpfdeConfig, epochs: int, seed: int) -> None:
        """``epochs`` and ``seed``: the run's (its :class:`TrainConfig`'s), which the trainer checks; the
        freezing and mask schedules follow the run's length, the first sieve and the mask growth its seed."""
        self.config, self.epochs, self.seed = config, epochs, seed
        self.masks: SparseMasks | None = None
        self.freezer: LayerFreezer | None = None
        self.sieve: CircularSieve | None = None
        self.cost: SpfdeCost | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.totals = SavedFlops()
        self.masks_updated_for = -1  # last epoch whose end-of-epoch mask update is done
        self.sieved_for = -1  # last epoch whose end-of-epoch sieve is done
        self.pending_update: int | None = None
        self._loaded: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None

    # ---------------------------------------------------------------- setup
    def settings(self) -> dict[str, Any]:
        return self.config.to_dict()

    def epoch_size(self, num_samples: int) -> int:
        if self.config.sieving is None:
            return num_samples
        if self.sieve is None:
            self.sieve = CircularSieve(num_samples, self.config.sieving, self.seed)
        return len(self.sieve.active)

    def held_out(self, num_samples: int) -> str:
        held = num_samples - self.epoch_size(num_samples)
        if not held:
            return ""
        frac = self.config.sieving.frac
        return f"--sieve-frac {frac:g} holds out {held} of the {num_samples} training images; lower --sieve-frac"

    def setup(self, net: Supernet, optimizer: torch.optim.Optimizer, num_samples: int) -> None:
        self.optimizer = optimizer
        self.epoch_size(num_samples)
        if self.config.sparsity is not None:
            self.masks = SparseMasks(net, self.config.sparsity, self.seed)
        if self.config.freezing is not None:
            self.freezer = LayerFreezer(net, self.config.freezing, self.epochs)
        self.cost = SpfdeCost(net.space, net.num_classes, self.masks)
        if self._loaded is not None:
            self._restore(*self._loaded)
            self._loaded = None
        if self.masks is not None:
            self.masks.apply(net)

    # ---------------------------------------------------------------- hooks
    def epoch_order(self, epoch: int, order: torch.Tensor) -> torch.Tensor:
        if self.sieve is None:
            return order
        if epoch > 0 and self.config.sieving.sieves_at(epoch - 1) and self.sieved_for < epoch - 1:
            self.sieve.sieve()
            self.sieved_for = epoch - 1
        active = self.sieve.active_indices()
        return order[torch.isin(order, active)]

    def on_epoch_start(self, epoch: int, net: Supernet) -> None:
        if self.freezer is not None:
            self.freezer.step(net, epoch)
        if self.masks is not None and epoch > 0:
            due = epoch - 1
            if self.config.sparsity.updates_at(due) and self.masks_updated_for < due:
                self.pending_update = due

    def on_batch(self, indices: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        if self.sieve is None:
            return
        correct = logits.argmax(1) == labels
        if dist.is_available() and dist.is_initialized():
            indices, correct = all_gather(indices), all_gather(correct.to(torch.uint8)).bool()
        self.sieve.record(indices, correct)

    def after_backward(self, net: Supernet, it: int) -> None:
        if self.masks is None:
            return
        if self.pending_update is not None:
            fraction = self.config.sparsity.fraction_at(self.pending_update, self.epochs)
            self.masks.update(net, fraction, self.optimizer)
            self.cost.masks_changed()
            self.masks_updated_for, self.pending_update = self.pending_update, None
        params = dict(net.named_parameters())
        for name, mask in self.masks.masks.items():
            g = params[name].grad
            if g is not None:
                g.mul_(mask)  # dead weights get no gradient, so no momentum builds up behind a mask

    def after_step(self, net: Supernet, it: int) -> None:
        if self.masks is not None:
            self.masks.apply(net)

    def on_step_done(self, cfgs: Sequence[SubnetConfig], images: int) -> None:
        frozen = self.freezer.frozen if self.freezer is not None else 0
        for cfg in cfgs:
            step = self.cost.pass_flops(cfg, images, frozen)
            if self.sieve is not None:
                step.sieving = sieving_saved_flops(step.spent, len(self.sieve.active), len(self.sieve.queue))
            self.totals.add(step)

    def flops_saved(self) -> dict[str, float]:
        on = {k for k, v in self.config.__dict__.items() if v is not None}
        return {k: getattr(self.totals, k) for k in ("sparsity", "freezing", "sieving") if k in on}

    # ---------------------------------------------------------------- state
    def _parts(self) -> dict[str, Any]:
        return {k: v for k, v in (("sparsity", self.masks), ("freezing", self.freezer), ("sieving", self.sieve)) if v}

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {}
        meta: dict[str, Any] = {
            "config": self.config.to_dict(),
            "totals": asdict(self.totals),
            "masks_updated_for": self.masks_updated_for,
            "sieved_for": self.sieved_for,
            "pending_update": self.pending_update,
            "parts": {},
        }
        for name, part in self._parts().items():
            t, m = part.state()
            tensors.update({f"{name}.{k}": v for k, v in t.items()})
            meta["parts"][name] = m
        return tensors, meta

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Check the settings now; the parts are restored in :meth:`setup` (they need the net)."""
        if meta.get("config") != self.config.to_dict():
            raise UserError(
                f"the checkpoint was trained with SpFDE settings {meta.get('config') or 'none'}, this run asks for "
                f"{self.config.to_dict()}; resume with the original --sparsity/--freeze-*/--sieve-* options."
            )
        self._loaded = (tensors, meta)

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.totals = SavedFlops(**meta["totals"])
        self.masks_updated_for, self.sieved_for = meta["masks_updated_for"], meta["sieved_for"]
        self.pending_update = meta["pending_update"]
        for name, part in self._parts().items():
            prefix = f"{name}."
            part.load_state(
                {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}, meta["parts"][name]
            )
        if self.cost is not None:
            self.cost.masks_changed()
