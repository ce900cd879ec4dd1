"""The trainer's optimizer, and the optimizer state that follows a parameter's elements."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from ofa_edge.supernet import Supernet
from ofa_edge.train.config import TrainConfig


def make_optimizer(net: Supernet, cfg: TrainConfig) -> torch.optim.SGD:
    """Nesterov SGD; no weight decay on BN, biases and kernel-transform matrices (OFA's rule)."""
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        (no_decay if p.ndim <= 1 or "kernel_matrices" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)


def state_like(optimizer: torch.optim.Optimizer, p: nn.Parameter) -> Iterator[torch.Tensor]:
    """The state tensors shaped like ``p`` (momentum, Adam moments): whatever moves or resets
    ``p``'s elements must move or reset them too."""
    for v in optimizer.state.get(p, {}).values():
        if isinstance(v, torch.Tensor) and v.shape == p.shape:
            yield v
