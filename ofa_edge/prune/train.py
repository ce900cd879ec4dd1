"""The small training and evaluation loop the pruning optimizers run in."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ofa_edge.data import ImageSet
from ofa_edge.data.transforms import Preprocess, augment
from ofa_edge.supernet.evaluate import CPU_EVAL_BATCH


def train_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    data: ImageSet,
    prep: Preprocess,
    batch_size: int,
    gen: torch.Generator,
    on_step: Callable[[float], None] | None = None,
) -> float:
    """One epoch over a shuffled ``data``; returns the mean training loss."""
    model.train()
    order = torch.randperm(len(data), generator=gen)
    total, seen = 0.0, 0
    for start in range(0, len(data), batch_size):
        idx = order[start : start + batch_size]
        x = prep(augment(data.images[idx], gen, pad=4))
        loss = F.cross_entropy(model(x), data.labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
        seen += len(idx)
        if on_step is not None:
            on_step(loss.item())
    return total / max(seen, 1)


@torch.no_grad()
def evaluate(model: nn.Module, data: ImageSet, prep: Preprocess, batch_size: int = CPU_EVAL_BATCH) -> float:
    """Top-1 accuracy (%) of ``model`` in eval mode (every top-1 ofa-edge reports is in percent)."""
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        x = prep(data.images[start : start + batch_size])
        correct += int((model(x).argmax(1) == data.labels[start : start + batch_size]).sum())
    return 100.0 * correct / max(len(data), 1)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches in an epoch of ``n`` images (the last one may be short)."""
    return -(-n // batch_size)
