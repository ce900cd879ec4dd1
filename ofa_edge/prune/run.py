"""One prune run: partition, train with HSPG or HESSO, slim, measure. Resumable per epoch, or every N steps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import nn

from ofa_edge.data import ImageSet
from ofa_edge.data.transforms import Preprocess
from ofa_edge.errors import UserError, option_name
from ofa_edge.io import atomic_write_bytes
from ofa_edge.prune.base import GroupSparseOptimizer
from ofa_edge.prune.hesso import HESSO
from ofa_edge.prune.hspg import HSPG
from ofa_edge.prune.slim import slim
from ofa_edge.prune.train import epoch_losses, steps_per_epoch
from ofa_edge.prune.zig import ZIGPartition
from ofa_edge.train.schedule import cosine_lr
from ofa_edge.units import check_range

METHODS = ("hesso", "hspg")
# The settings only one method reads (the one list of them: the CLI refuses another method's options by it).
OWN_FIELDS = {"hesso": ("start_frac", "prune_frac", "periods"), "hspg": ("prox_frac", "lam", "epsilon")}


@dataclass(frozen=True)
class PruneSettings:
    """Hyper-parameters of a prune run (every one is printed by the CLI)."""

    method: str
    target_sparsity: float
    epochs: int
    lr: float = 0.05
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = 0
    # HESSO: warm-up, then the pruning window cut into periods (fractions of all steps).
    start_frac: float = 0.1
    prune_frac: float = 0.5
    periods: int = 5
    # HSPG: proximal phase length (fraction of steps), group-lasso weight, half-space epsilon.
    prox_frac: float = 0.5
    lam: float = 1e-3
    epsilon: float = 0.0

    def __post_init__(self) -> None:
        """Refuse what no run can do, naming the field and its command-line option (a :class:`UserError`)."""
        if self.method not in METHODS:
            raise UserError(f"unknown {option_name('method')} '{self.method}'; choose {' or '.join(METHODS)}.")
        check_range(option_name("target_sparsity"), self.target_sparsity, gt=0, lt=1, hint="(e.g. 0.5)")
        for name, low in (("epochs", 1), ("batch_size", 1), ("periods", 1), ("seed", 0)):
            check_range(option_name(name), getattr(self, name), ge=low)
        check_range(option_name("lr"), self.lr, gt=0)
        check_range(option_name("lam"), self.lam, ge=0)
        check_range(option_name("epsilon"), self.epsilon, ge=0, lt=1)
        # HESSO prunes in a window after the warm-up, which must end by the last step; HSPG's half-space phase
        # (the one the target caps) follows the proximal one, so that must leave it steps.
        check_range(option_name("start_frac"), self.start_frac, ge=0, lt=1, hint="(a fraction of all steps)")
        check_range(option_name("prune_frac"), self.prune_frac, gt=0, le=1, hint="(a fraction of all steps)")
        check_range(option_name("prox_frac"), self.prox_frac, ge=0, lt=1, hint="(a fraction of all steps)")
        if self.start_frac + self.prune_frac > 1 + 1e-9:
            raise UserError(
                f"{option_name('start_frac')} {self.start_frac:g} + {option_name('prune_frac')} {self.prune_frac:g}: "
                "must be <= 1 (the pruning window must end by the last step); lower either."
            )

    def describe(self) -> str:
        """``name value`` pairs of the settings this run's method reads (the other method's left out)."""
        ignored = {f for method, fields in OWN_FIELDS.items() if method != self.method for f in fields}
        return ", ".join(
            f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in asdict(self).items() if k not in ignored
        )


def ignored_options(s: PruneSettings) -> dict[str, list[str]]:
    """For each method but ``s.method``, the command-line options (``--lam`` for ``lam``) of its own settings that
    ``s`` sets away from their defaults: ``s.method`` would ignore them."""
    defaults = {f.name: f.default for f in fields(PruneSettings)}
    return {
        other: [f"--{name.replace('_', '-')}" for name in names if getattr(s, name) != defaults[name]]
        for other, names in OWN_FIELDS.items()
        if other != s.method
    }


def make_optimizer(part: ZIGPartition, s: PruneSettings, total_steps: int) -> GroupSparseOptimizer:
    """The group-sparse optimizer ``s.method`` scheduled over ``total_steps``."""
    if s.method == "hesso":
        # The whole pruning window must fit in training: short runs get fewer, shorter periods.
        start = int(s.start_frac * total_steps)
        prune_steps = min(max(int(s.prune_frac * total_steps), 1), total_steps - start)
        return HESSO(
            part,
            s.lr,
            s.target_sparsity,
            prune_steps,
            start_step=start,
            periods=min(s.periods, prune_steps),
            momentum=s.momentum,
            weight_decay=s.weight_decay,
        )
    return HSPG(
        part,
        s.lr,
        s.lam,
        int(s.prox_frac * total_steps),
        s.epsilon,
        s.momentum,
        s.weight_decay,
        max_sparsity=s.target_sparsity,
    )


def _save_checkpoint(
    path: Path,
    model: nn.Module,
    opt: GroupSparseOptimizer,
    meta: dict[str, Any],
    rng: dict[str, torch.Tensor] | None = None,
) -> None:
    """Weights, momentum, the optimizer's own state, ``meta`` (JSON) and, inside an epoch, the ``rng`` states
    the rest of the epoch draws from."""
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    for p, st in opt.state.items():
        if "momentum_buffer" in st:
            tensors[f"momentum.{opt.names[id(p)]}"] = st["momentum_buffer"].contiguous()
    tensors.update({f"extra.{k}": v.contiguous() for k, v in opt.extra_state().items()})
    tensors.update({f"rng.{k}": v for k, v in (rng or {}).items()})
    atomic_write_bytes(path, save(tensors, metadata={"ofa_edge": json.dumps(meta)}))


def _checkpoint_meta(path: Path) -> dict | None:
    """The JSON a resume checkpoint was saved with (its ``settings``: the run's and what it prunes on what); None
    when there is none or it cannot be read."""
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["ofa_edge"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError):
        return None
    return meta if isinstance(meta, dict) else None


def run_identity(subnet: dict[str, Any], supernet: Path, data: Path, train_images: int) -> dict[str, Any]:
    """What a prune run prunes on what: the ``subnet`` (``to_dict()``), the ``supernet`` file as it is now, the
    ``data`` folder and how many training images the run draws from it."""
    stat = supernet.stat()
    return {
        "subnet": subnet,
        "supernet": [str(supernet.resolve()), stat.st_size, stat.st_mtime_ns],
        "data": str(data.resolve()),
        "train_images": train_images,
    }


def checkpoint_identity(s: PruneSettings, run_id: dict[str, Any] | None) -> dict[str, Any]:
    """What a checkpoint records of the run that wrote it (its ``settings``), and a run resumes from it only where
    its own is equal: the settings ``s`` and ``run_id`` (:func:`run_identity`)."""
    return asdict(s) | {"run": run_id}


def resumes(path: Path, s: PruneSettings, subnet: dict[str, Any]) -> bool:
    """Whether the checkpoint at ``path`` was written by a run of these settings on this subnet (``to_dict()``), so
    a run like it resumes from it; its supernet and data, which a caller may not have loaded yet, are taken as
    recorded."""
    recorded = (_checkpoint_meta(path) or {}).get("settings")
    run = recorded.get("run") if isinstance(recorded, dict) else None
    return isinstance(run, dict) and recorded == checkpoint_identity(s, run | {"subnet": subnet})


def _load_checkpoint(path: Path, model: nn.Module, opt: GroupSparseOptimizer, settings: dict) -> dict | None:
    """Restore a checkpoint written with the same settings; None when there is none to use. Its ``meta`` comes
    back with the saved random-number states under ``rng``."""
    meta = _checkpoint_meta(path)
    if meta is None or meta.get("settings") != settings:
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except (SafetensorError, OSError):
        return None
    try:
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        params = opt.part.params
        momentum = {params[k[9:]]: v for k, v in tensors.items() if k.startswith("momentum.")}
    except (RuntimeError, KeyError):  # another network's checkpoint: start afresh
        return None
    for p, v in momentum.items():
        opt.state[p]["momentum_buffer"] = v
    opt.load_extra_state({k[6:]: v for k, v in tensors.items() if k.startswith("extra.")})
    return meta | {"rng": {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")}}


def _cosine_lr(opt: GroupSparseOptimizer, peak: float, total: int) -> None:
    """Set the learning rate of the optimizer's next step on a cosine schedule."""
    opt.param_groups[0]["lr"] = cosine_lr(opt.num_steps, total, peak)


def train_and_prune(
    model: nn.Module,
    part: ZIGPartition,
    train: ImageSet,
    prep: Preprocess,
    s: PruneSettings,
    checkpoint: Path | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    run_id: dict[str, Any] | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    ckpt_every: int = 0,
) -> dict[str, Any]:
    """Train ``model`` with the group-sparse optimizer for ``s.epochs``; groups end exactly
    zero. ``on_step(step, total, loss)`` reports progress. Checkpoints after every epoch and, with
    ``ckpt_every``, every that many steps inside one. Resumes from ``checkpoint`` when it was
    written with the same settings and ``run_id`` (what is pruned, on which data), to the weights an
    uninterrupted run ends with; ``log`` says, before training, whether a checkpoint there is resumed or ignored."""
    per_epoch = steps_per_epoch(len(train), s.batch_size)
    total = s.epochs * per_epoch
    opt = make_optimizer(part, s, total)
    gen = torch.Generator()
    settings = checkpoint_identity(s, run_id)
    meta = _load_checkpoint(checkpoint, model, opt, settings) if checkpoint else None
    start_epoch, first_step = (meta["epoch"], meta.get("step", 0)) if meta else (0, 0)
    history = meta["history"] if meta else []
    loss_sum, images = meta.get("epoch_loss", (0.0, 0)) if meta else (0.0, 0)
    if meta:
        where = f"step {first_step} of {per_epoch} in epoch {start_epoch + 1}" if first_step else f"epoch {start_epoch}"
        log(f"resuming after {where} of {s.epochs} from {checkpoint}")
        if on_step is not None:  # the bar starts where the run stands (a finished one stood at 0/?)
            on_step(opt.num_steps, total, loss_sum / images if first_step else history[-1]["loss"])
    elif checkpoint and checkpoint.is_file():
        log(f"not resuming from {checkpoint}: another run wrote it (other settings, subnet or data); starting afresh")
    _cosine_lr(opt, s.lr, total)

    t0 = time.perf_counter()
    for epoch in range(start_epoch, s.epochs):
        # every draw of an epoch (data order, augmentation, dropout) depends on the seed and the epoch
        # alone, and inside an epoch on the states saved with the checkpoint, so a run resumed from a
        # checkpoint trains exactly as the uninterrupted one
        gen.manual_seed(s.seed + epoch)
        resumed = meta["rng"] if meta and first_step else None
        with torch.random.fork_rng(devices=[]):  # the CPU's generator only: prune trains on the CPU
            torch.manual_seed(s.seed + epoch)
            if resumed:
                torch.set_rng_state(resumed["torch"])
            gen_state = resumed["data"] if resumed else None
            losses = epoch_losses(model, opt, train, prep, s.batch_size, gen, first_step, gen_state)
            for step, (loss, n) in enumerate(losses, first_step + 1):
                loss_sum, images = loss_sum + loss * n, images + n
                _cosine_lr(opt, s.lr, total)
                if checkpoint and ckpt_every and step % ckpt_every == 0 and step < per_epoch:
                    _check_finite(model, epoch, s.lr)
                    state = {"epoch": epoch, "step": step, "epoch_loss": [loss_sum, images], "history": history}
                    rng = {"data": gen.get_state(), "torch": torch.get_rng_state()}
                    _save_checkpoint(checkpoint, model, opt, {"settings": settings, **state}, rng)
                if on_step is not None:
                    on_step(opt.num_steps, total, loss)
        _check_finite(model, epoch, s.lr)
        history.append(
            {"epoch": epoch + 1, "loss": loss_sum / images, "group_sparsity": part.group_sparsity(), "lr": opt.lr}
        )
        first_step, loss_sum, images = 0, 0.0, 0
        if checkpoint:
            _save_checkpoint(checkpoint, model, opt, {"settings": settings, "epoch": epoch + 1, "history": history})
    return {
        "steps": total,
        "history": history,
        "train_seconds": time.perf_counter() - t0,
        "resumed_at_epoch": start_epoch,
        "resumed_at_step": start_epoch * per_epoch + (meta.get("step", 0) if meta else 0),
        "ckpt_every": ckpt_every,
    }


def _check_finite(model: nn.Module, epoch: int, lr: float) -> None:
    """A :class:`UserError` when training diverged: a checkpoint of NaN weights would only resume the divergence."""
    if not all(t.isfinite().all() for t in model.state_dict().values() if t.is_floating_point()):
        raise UserError(f"training diverged in epoch {epoch + 1} (weights hold NaN or inf); lower --lr ({lr:g}).")


@torch.no_grad()
def slim_and_check(model: nn.Module, part: ZIGPartition, probe: torch.Tensor) -> tuple[nn.Module, float]:
    """The slim network and its max output difference to the group-sparse one on ``probe``."""
    model.eval()
    small = slim(model, part).eval()
    return small, float((small(probe) - model(probe)).abs().max())
