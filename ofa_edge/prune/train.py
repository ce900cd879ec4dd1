"""The small training and evaluation loop the pruning optimizers run in."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ofa_edge.data import ImageSet
from ofa_edge.data.transforms import Preprocess, augment
from ofa_edge.space import SearchSpace
from ofa_edge.supernet.evaluate import CPU_EVAL_BATCH, module_top1


def epoch_losses(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    data: ImageSet,
    prep: Preprocess,
    batch_size: int,
    gen: torch.Generator,
    first_step: int = 0,
    gen_state: torch.Tensor | None = None,
) -> Iterator[tuple[float, int]]:
    """Train one epoch over a shuffled ``data`` from batch ``first_step`` on, yielding each batch's (loss, images).

    The order is ``gen``'s first draw. An epoch interrupted after ``first_step`` batches goes on as the uninterrupted
    one did when ``gen_state`` is ``gen``'s state saved then: the augmentation draws from it."""
    model.train()
    order = torch.randperm(len(data), generator=gen)
    if gen_state is not None:
        gen.set_state(gen_state)
    for start in range(first_step * batch_size, len(data), batch_size):
        idx = order[start : start + batch_size]
        x = prep(augment(data.images[idx], gen, pad=4))
        loss = F.cross_entropy(model(x), data.labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        yield loss.item(), len(idx)


def evaluate(model: nn.Module, data: ImageSet, space: SearchSpace, resolution: int, onnx: bytes | None = None) -> float:
    """Top-1 (%) of ``model`` on ``data`` in eval mode on this CPU, as ``ofa-edge eval`` scores a network
    (:func:`~ofa_edge.supernet.evaluate.module_top1`: ONNX Runtime from 1,000 images on, on ``onnx``, the
    model's export, where given); the model is handed back with NCHW weights, as training and slimming take it."""
    return module_top1(model.eval(), data, torch.device("cpu"), CPU_EVAL_BATCH, space, resolution, onnx=onnx)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches in an epoch of ``n`` images (the last one may be short)."""
    return -(-n // batch_size)
