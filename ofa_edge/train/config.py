"""TrainConfig: every hyperparameter of a run, validated, with the defaults it picked spelled out."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import os
from dataclasses import dataclass
from typing import Any

import torch

from ofa_edge.data.transforms import fast_memory_format
from ofa_edge.errors import UserError, option_name
from ofa_edge.host import check_torch_device, resolve_torch_device
from ofa_edge.supernet.bn_calibration import BN_IMAGES
from ofa_edge.train.methods import MAX_SUBNETS_PER_STEP, METHODS, deps_shrink_epoch
from ofa_edge.units import check_range

# Fields that may change between a run and its --resume (they do not change the result; the data
# may move, and the trainer checks that it holds the same images and classes).
RESUME_FREE = {
    "out", "device", "time_limit_s", "ckpt_every", "limit_val", "probe_every", "calib_images", "data", "cudnn_benchmark",
    "cuda_graphs", "channels_last",
}  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """A training run. ``None`` means "pick a default" (see :meth:`resolved`); ``data`` and ``out`` may be
    paths."""

    data: str | os.PathLike[str]
    out: str | os.PathLike[str]
    method: str = "deps"
    space: str = "mbv3-w1.0-cifar"
    epochs: int = 40
    batch_size: int = 128
    lr: float | None = None
    lr_warmup_epochs: float | None = None
    warmup_frac: float = 0.5
    eps_epochs: float | None = None
    subnets_per_step: int = 4
    beta_mult: float = 1.0
    kd_temp: float = 1.0
    grad_agg: str = "sum"
    label_smoothing: float = 0.1
    weight_decay: float = 5e-5
    momentum: float = 0.9
    kernel_transform: bool = False
    reorder: bool = False
    limit_train: int | None = None
    limit_val: int | None = None
    val_split: str = "test"
    calib_images: int = BN_IMAGES
    probe_every: int = 1
    ckpt_every: int = 0
    time_limit_s: float | None = None
    device: str = "auto"
    amp: bool = False
    channels_last: bool | None = None
    cudnn_benchmark: bool = False
    cuda_graphs: bool = False
    seed: int = 0

    def resolved(self, world: int = 1) -> tuple[TrainConfig, list[str]]:
        """Fill every ``None`` / ``auto`` (the values filled in are checked as :meth:`validate` checks them); returns
        the config (this one where nothing was left open) and one note per default picked."""
        notes: list[str] = []
        changes: dict[str, Any] = {
            k: os.fspath(getattr(self, k)) for k in ("data", "out") if not isinstance(getattr(self, k), str)
        }  # JSON-ready
        if self.device == "auto":
            changes["device"] = resolve_torch_device()
            notes.append(f"device: {changes['device']} (auto)")
        if self.lr is None:
            changes["lr"] = self.batch_size * world / 2560  # 0.1 x global batch / 256, exactly (shown so)
            notes.append(f"lr: {changes['lr']} (0.1 x global batch {self.batch_size * world} / 256)")
        if self.lr_warmup_epochs is None:
            changes["lr_warmup_epochs"] = float(round(0.05 * self.epochs))
            notes.append(
                f"lr warmup: {changes['lr_warmup_epochs']:g} epochs (5% of the run in whole epochs; "
                f"{option_name('lr_warmup_epochs')} takes fractions)"
            )
        if self.eps_epochs is None:
            changes["eps_epochs"] = float(max(1, round(0.05 * self.epochs)))
            if self.method == "deps":
                notes.append(f"eps-epochs: {changes['eps_epochs']:g} (5% of the run, at least 1)")
        if self.channels_last is None:
            changes["channels_last"] = fast_memory_format(changes.get("device", self.device)) == torch.channels_last
            notes.append(
                "memory format: channels_last (auto on the CPU, 1.5-1.9x faster than NCHW here)"
                if changes["channels_last"]
                else f"memory format: NCHW (auto on CUDA; {option_name('channels_last')} to switch)"
            )
        cfg = self._filled(changes) if changes else self
        if cfg.cuda_graphs and not cfg.device.startswith("cuda"):
            graphs = option_name("cuda_graphs")
            raise UserError(f"{graphs} needs a CUDA device, but the run is on '{cfg.device}'; drop {graphs}.")
        if cfg.method != "deps" and (given := self._given("warmup_frac", "eps_epochs")):
            notes.append(f"{given}: DεpS only; ignored by {option_name('method')} {cfg.method}")
        if cfg.method in ("ofa", "compofa"):
            given = self._given("subnets_per_step", "beta_mult")
            notes.append(
                f"{option_name('method')} {cfg.method} sets its subnets per step and LR per phase (OFA's ratios)"
                + (f"; {given} ignored" if given else "")
            )
        if cfg.method == "deps" and cfg.warmup_frac > 0 and deps_shrink_epoch(cfg.warmup_frac, cfg.epochs) == 0:
            need = next(e for e in itertools.count(cfg.epochs + 1) if deps_shrink_epoch(cfg.warmup_frac, e) >= 1)
            notes.append(
                f"{option_name('warmup_frac')} {cfg.warmup_frac:g} of {cfg.epochs} epoch(s) rounds to no full-model "
                f"warm-up: DεpS shrinks from the first step ({option_name('epochs')} {need} or more gives it a warm-up "
                "epoch)"
            )
        if cfg.method == "deps" and cfg.eps_epochs is not None:
            left = cfg.epochs - deps_shrink_epoch(cfg.warmup_frac, cfg.epochs)
            if cfg.eps_epochs > left:
                notes.append(
                    f"eps-epochs: {cfg.eps_epochs:g} clamped to {left} (the epochs left after shrinking starts at "
                    f"epoch {cfg.epochs - left})"
                )
        return cfg, notes

    def _filled(self, changes: dict[str, Any]) -> TrainConfig:
        """A copy with the defaults ``changes`` filled in, checked by :meth:`_check_open` alone: the other fields
        were checked when this config was made, and ``dataclasses.replace`` would check every one again."""
        cfg = copy.copy(self)
        for name, value in changes.items():
            object.__setattr__(cfg, name, value)  # frozen: set as dataclasses' own __init__ sets fields
        cfg._check_open()
        return cfg

    def _given(self, *names: str) -> str:
        """Those of the options ``names`` set away from their defaults, with their values:
        ``eps_epochs (--eps-epochs) 3 and ...``."""
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        return " and ".join(f"{option_name(n)} {getattr(self, n):g}" for n in names if getattr(self, n) != defaults[n])

    def __post_init__(self) -> None:
        """Refuse a run no trainer can make, when the config is made (as :class:`~ofa_edge.export.ExportRequest`
        does), not when :meth:`~ofa_edge.train.trainer.Trainer.run` starts."""
        self.validate()

    def validate(self) -> None:
        """Raise a :class:`UserError` naming the first field out of range and its flag (NaN and infinities
        included)."""
        if self.method not in METHODS:
            raise UserError(f"unknown {option_name('method')} '{self.method}'; choose one of {', '.join(METHODS)}.")
        check_range(option_name("epochs"), self.epochs, ge=1)
        need = METHODS[self.method].min_epochs()
        if self.epochs < need:
            raise UserError(
                f"{option_name('method')} {self.method} has {need} phases and needs at least {need} epochs; got "
                f"{option_name('epochs')} {self.epochs}."
            )
        check_range(option_name("batch_size"), self.batch_size, ge=1)
        check_range(
            option_name("warmup_frac"),
            self.warmup_frac,
            ge=0,
            lt=1,
            hint="(the fraction of epochs the full model trains alone)",
        )
        if self.method == "deps" and deps_shrink_epoch(self.warmup_frac, self.epochs) >= self.epochs:
            raise UserError(
                f"{option_name('warmup_frac')} {self.warmup_frac} of {self.epochs} epochs leaves DεpS no epoch to "
                f"shrink in (no subnet would train); use a fraction below {(self.epochs - 0.5) / self.epochs:.3f} or "
                f"more {option_name('epochs')}."
            )
        check_range(option_name("weight_decay"), self.weight_decay, ge=0)
        check_range("momentum", self.momentum, ge=0, lt=1)  # a library field only: the command has no flag
        if self.method in ("deps", "bignas"):
            check_range(
                option_name("subnets_per_step"),
                self.subnets_per_step,
                ge=2,
                le=MAX_SUBNETS_PER_STEP,
                hint="(the sandwich rule's max and min, then random subnets, each one more forward and backward "
                "per step; BigNAS trains 4)",
            )
        check_range(option_name("kd_temp"), self.kd_temp, gt=0)
        check_range(option_name("beta_mult"), self.beta_mult, ge=0)
        if self.grad_agg not in ("sum", "avg"):
            raise UserError(f"{option_name('grad_agg')} must be 'sum' or 'avg', got '{self.grad_agg}'.")
        check_range(option_name("label_smoothing"), self.label_smoothing, ge=0, lt=1)
        check_range(option_name("limit_train"), self.limit_train, ge=1)
        check_range(option_name("limit_val"), self.limit_val, ge=1)
        check_range(option_name("calib_images", "--bn-images"), self.calib_images, ge=1)
        check_range(option_name("probe_every"), self.probe_every, ge=0, hint="(0: never)")
        check_range(option_name("ckpt_every"), self.ckpt_every, ge=0, hint="(0: only at epoch ends)")
        check_range(option_name("time_limit_s", "--time-limit"), self.time_limit_s, gt=0)
        check_range(option_name("seed"), self.seed, ge=0, le=2**32 - 1)  # the generators take seed x 1,000,003 + epoch
        self._check_open()

    def _check_open(self) -> None:
        """The checks of the fields :meth:`resolved` fills where they are left open (``None`` / ``auto``)."""
        check_range(option_name("eps_epochs"), self.eps_epochs, ge=0)
        check_range(option_name("lr"), self.lr, gt=0)
        check_range(
            option_name("lr_warmup_epochs"),
            self.lr_warmup_epochs,
            ge=0,
            lt=self.epochs,
            hint=f"(below {option_name('epochs')})",
        )
        span = METHODS[self.method].warmup_span(self.epochs)
        if self.lr_warmup_epochs is not None and self.lr_warmup_epochs > span:
            raise UserError(
                f"{option_name('lr_warmup_epochs')} {self.lr_warmup_epochs:g} is longer than {option_name('method')} "
                f"{self.method}'s full-model phase ({span} of {self.epochs} epochs), the only phase that warms up; "
                f"use at most {span}."
            )
        check_torch_device(self.device)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def resume_mismatch(self, saved: dict[str, Any]) -> list[str]:
        """Fields that differ from a saved run's config (excluding those free to change). Runs saved before the
        default LR was exact recorded it to 6 decimals (0.039062 for batch 100): that LR matches its rounding."""
        return [
            f"{k}: run has {saved.get(k)!r}, now {v!r}"
            for k, v in self.to_dict().items()
            if k not in RESUME_FREE and saved.get(k) != v and not (k == "lr" and saved.get(k) == round(v, 6))
        ]
