"""TrainConfig: every hyperparameter of a run, validated, with the defaults it picked spelled out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from ofa_edge.data.transforms import fast_memory_format
from ofa_edge.errors import UserError
from ofa_edge.host import check_torch_device
from ofa_edge.train.methods import METHODS, deps_shrink_epoch

# Fields that may change between a run and its --resume (they do not change the result; the data
# may move, and the trainer checks that it holds the same images and classes).
RESUME_FREE = {
    "out", "device", "time_limit_s", "ckpt_every", "limit_val", "probe_every", "calib_images", "data", "cudnn_benchmark",
    "cuda_graphs", "channels_last",
}  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """A training run. ``None`` means "pick a default" (see :meth:`resolved`)."""

    data: str
    out: str
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
    calib_images: int = 2000
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
        """Fill every ``None`` / ``auto`` and validate; returns the config and one note per default picked."""
        self.validate()
        notes, changes = [], {}
        if self.device == "auto":
            changes["device"] = "cuda" if torch.cuda.is_available() else "cpu"
            notes.append(f"device: {changes['device']} (auto)")
        if self.lr is None:
            changes["lr"] = round(0.1 * self.batch_size * world / 256, 6)
            notes.append(f"lr: {changes['lr']} (0.1 x global batch {self.batch_size * world} / 256)")
        if self.lr_warmup_epochs is None:
            changes["lr_warmup_epochs"] = float(round(0.05 * self.epochs))
            notes.append(f"lr warmup: {changes['lr_warmup_epochs']:g} epochs (5% of the run)")
        if self.eps_epochs is None:
            changes["eps_epochs"] = float(max(1, round(0.05 * self.epochs)))
            if self.method == "deps":
                notes.append(f"eps-epochs: {changes['eps_epochs']:g} (5% of the run, at least 1)")
        if self.channels_last is None:
            changes["channels_last"] = fast_memory_format(changes.get("device", self.device)) == torch.channels_last
            notes.append(
                "memory format: channels_last (auto on the CPU, 1.5-1.9x faster than NCHW here)"
                if changes["channels_last"]
                else "memory format: NCHW (auto on CUDA; --channels-last to switch)"
            )
        cfg = dataclasses.replace(self, **changes)
        if cfg.cuda_graphs and not cfg.device.startswith("cuda"):
            raise UserError(f"--cuda-graphs needs a CUDA device, but the run is on '{cfg.device}'; drop --cuda-graphs.")
        if cfg.method != "deps":
            notes.append(f"warmup-frac and eps-epochs are DεpS options; ignored by --method {cfg.method}")
        if cfg.method in ("ofa", "compofa"):
            notes.append(f"--method {cfg.method} sets its subnets per step and LR per phase (OFA's ratios)")
        return cfg, notes

    def validate(self) -> None:
        def bad(msg: str) -> None:
            raise UserError(msg)

        if self.method not in METHODS:
            bad(f"unknown --method '{self.method}'; choose one of {', '.join(METHODS)}.")
        if self.epochs < 1:
            bad(f"--epochs must be at least 1, got {self.epochs}.")
        need = METHODS[self.method].min_epochs()
        if self.epochs < need:
            bad(
                f"--method {self.method} has {need} phases and needs at least {need} epochs; got --epochs {self.epochs}."
            )
        if self.batch_size < 1:
            bad(f"--batch-size must be at least 1, got {self.batch_size}.")
        if not 0.0 <= self.warmup_frac < 1.0:
            bad(
                f"--warmup-frac must be in [0, 1) (the fraction of epochs the full model trains alone), got {self.warmup_frac}."
            )
        if self.method == "deps" and deps_shrink_epoch(self.warmup_frac, self.epochs) >= self.epochs:
            bad(
                f"--warmup-frac {self.warmup_frac} of {self.epochs} epochs leaves DεpS no epoch to shrink in (no subnet "
                f"would train); use a fraction below {(self.epochs - 0.5) / self.epochs:.3f} or more --epochs."
            )
        if self.eps_epochs is not None and self.eps_epochs < 0:
            bad(f"--eps-epochs must be >= 0, got {self.eps_epochs}.")
        if self.lr is not None and self.lr <= 0:
            bad(f"--lr must be positive, got {self.lr}.")
        if self.lr_warmup_epochs is not None and not 0 <= self.lr_warmup_epochs < self.epochs:
            bad(f"--lr-warmup-epochs must be in [0, --epochs), got {self.lr_warmup_epochs}.")
        span = METHODS[self.method].warmup_span(self.epochs)
        if self.lr_warmup_epochs is not None and self.lr_warmup_epochs > span:
            bad(
                f"--lr-warmup-epochs {self.lr_warmup_epochs:g} is longer than --method {self.method}'s full-model phase "
                f"({span} of {self.epochs} epochs), the only phase that warms up; use at most {span}."
            )
        if self.weight_decay < 0:
            bad(f"--weight-decay must be >= 0, got {self.weight_decay}.")
        if not 0 <= self.momentum < 1:
            bad(f"momentum must be in [0, 1), got {self.momentum}.")
        if self.method in ("deps", "bignas") and self.subnets_per_step < 2:
            bad(
                f"--subnets-per-step must be at least 2 for the sandwich rule (max and min), got {self.subnets_per_step}."
            )
        if self.kd_temp <= 0:
            bad(f"--kd-temp must be positive, got {self.kd_temp}.")
        if self.beta_mult < 0:
            bad(f"--beta-mult must be >= 0, got {self.beta_mult}.")
        if self.grad_agg not in ("sum", "avg"):
            bad(f"--grad-agg must be 'sum' or 'avg', got '{self.grad_agg}'.")
        if not 0.0 <= self.label_smoothing < 1.0:
            bad(f"--label-smoothing must be in [0, 1), got {self.label_smoothing}.")
        for name in ("limit_train", "limit_val"):
            v = getattr(self, name)
            if v is not None and v < 1:
                bad(f"--{name.replace('_', '-')} must be at least 1, got {v}.")
        if self.calib_images < 1 or self.probe_every < 0 or self.ckpt_every < 0:
            bad("--calib-images must be >= 1, --probe-every and --ckpt-every >= 0.")
        check_torch_device(self.device)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def resume_mismatch(self, saved: dict[str, Any]) -> list[str]:
        """Fields that differ from a saved run's config (excluding those free to change)."""
        return [
            f"{k}: run has {saved.get(k)!r}, now {v!r}"
            for k, v in self.to_dict().items()
            if k not in RESUME_FREE and saved.get(k) != v
        ]
