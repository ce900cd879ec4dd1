"""Batch-norm recalibration: re-estimate running statistics of a subnet on training data.

Weight-shared supernets keep BN statistics that fit no single subnet; OFA resets them on a
few batches before every evaluation. Works on a supernet with an active subnet and on an
extracted static network alike.

torch is imported when :func:`recalibrate_bn` runs: the constants and the warning here are read by
commands that do without it (a search whose accuracies are all known).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ofa_edge.errors import UserError

if TYPE_CHECKING:
    import torch
    from torch import nn

# Below this many images the statistics cost a point of top-1 or more: the median of 4 CIFAR-10 subnets
# scored 17.0 % at 1 image, 59.8 % at 10, 71.0 % at 50, 72.2 % at 100, 72.5 % at 200 and 73.4 % at 2,000
# (benchmarks/bench_bn_images.py; docs/benchmarks.md).
FEW_IMAGES = 200

# The batch every command that evaluates a subnet recalibrates BN in (eval, train's probes, search's accuracy data,
# export, quickstart, prune's starting point):
# each layer normalises a calibration batch by that batch's own statistics, so the batch changes a subnet's
# statistics and its top-1 (by up to a few tenths of a point; benchmarks/bench_bn_batch.py). 500 is the batch the
# embedded supernet's shipped accuracies were measured in. Inference batches are another matter: they do not
# change results.
BN_CALIB_BATCH = 500
# The training images every command recalibrates BN on by default (--bn-images of eval, train and export; prune): 73.4 %
# where 500 read 73.3 % (the median above); the CIFAR-10 sample shipped with the package holds exactly as many.
BN_IMAGES = 2000


def few_images_warning(images: int, flag: str = "--bn-images", available: int | None = None) -> str | None:
    """The warning for BN recalibration on fewer than :data:`FEW_IMAGES` images (``flag`` asked for ``images``;
    ``available``: the training images the data holds, all used where fewer than asked for)."""
    used = images if available is None else min(images, available)
    if used >= FEW_IMAGES:
        return None
    cost = (
        "batch-norm statistics from so few images cost accuracy (CIFAR-10 subnets, median top-1: 17 % at 1 image, "
        "60 % at 10, 72 % at 100, 73.4 % at 2,000; `ofa-edge docs benchmarks`)"
    )
    if available is None or available >= FEW_IMAGES:
        return f"{flag} {images}: {cost}. Use {FEW_IMAGES} or more."
    if images < available:
        return (
            f"{flag} {images}: {cost}. The data holds only {available:,} training images: use all of them "
            f"({flag} {available}), or {FEW_IMAGES} or more training images."
        )
    return (
        f"{flag} {images}: the data holds only {available:,} training images, and BN recalibration uses them all; "
        f"{cost}. Use {FEW_IMAGES} or more training images."
    )


def recalibrate_bn(
    model: nn.Module, batches: Iterable[torch.Tensor], max_batches: int | None = None, *, channels_last: bool = False
) -> int:
    """Reset every BN layer and recompute its statistics as the average over the calibration images (each
    batch's statistics weighted by its number of images).

    Each layer normalises a calibration batch by that batch's own statistics, so the batches should be
    drawn in random order (:meth:`~ofa_edge.data.ImageSet.shuffled`): batches of one class each (a
    dataset in file order) leave every layer's variance short by the spread between the classes.

    ``batches`` yields image tensors (N, 3, R, R), or (images, labels) pairs as a torch ``DataLoader`` does.
    Returns the number of images used. The model is left in eval mode. No batches at all (an empty
    loader) raise a :class:`UserError`, as does a ``model`` that is no ``nn.Module``, and any failure leaves the
    statistics as they were.

    With ``channels_last`` the forward passes run in that memory format (the CPU's fast one: 1.6-1.8x NCHW's
    speed for an export's subnet) and the model is handed back with NCHW weights, as ONNX export, training and
    slimming take it; the statistics agree with NCHW's to float rounding.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise UserError(
            "recalibrate_bn(model, batches) takes the network first (a torch nn.Module, e.g. load_supernet(path) "
            f"or a subnet it extracted), got a {type(model).__name__}."
        )
    if isinstance(batches, torch.Tensor):  # iterating it would feed single images, which the model refuses
        raise UserError(
            f"recalibrate_bn takes batches of images (a list or loader of (N, 3, R, R) tensors), got one tensor of "
            f"shape {tuple(batches.shape)}; pass [images], or images.split(256) for batches of 256."
        )
    if not channels_last:
        with torch.no_grad():
            return _recalibrate(model, batches, max_batches)
    fmt = torch.channels_last
    try:
        with torch.no_grad():
            return _recalibrate(model.to(memory_format=fmt), _as_format(batches, fmt), max_batches)
    finally:
        model.to(memory_format=torch.contiguous_format)


def _as_format(batches: Iterable[torch.Tensor], fmt: torch.memory_format) -> Iterable[torch.Tensor]:
    """``batches`` (image tensors or (images, labels) pairs) with their images in memory format ``fmt``."""
    for x in batches:
        if isinstance(x, tuple | list):
            x = x[0]
        yield x.contiguous(memory_format=fmt)


def _recalibrate(model: nn.Module, batches: Iterable[torch.Tensor], max_batches: int | None) -> int:
    from torch.nn.modules.batchnorm import _BatchNorm

    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    saved = [(m.momentum, m.training) for m in bns]
    before = [{k: v.clone() for k, v in m.named_buffers()} for m in bns]
    for m in bns:
        m.reset_running_stats()
    model.eval()
    for m in bns:
        m.train()
    seen, done = 0, False
    try:
        for i, x in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                break
            if isinstance(x, tuple | list):  # a DataLoader's (images, labels)
                x = x[0]
            if not len(x):
                continue
            for m in bns:  # the mean over all images so far, each batch weighed by its images (torch's own
                m.momentum = len(x) / (seen + len(x))  # cumulative average, momentum None, weighs batches alike)
            model(x)
            seen += len(x)
        done = seen > 0
    finally:
        for m, (momentum, _) in zip(bns, saved, strict=True):
            m.momentum = momentum
        model.eval()
        if not done:  # no images, or a failure: the statistics as they were
            for m, buffers in zip(bns, before, strict=True):
                for k, v in buffers.items():
                    getattr(m, k).copy_(v)
    if seen == 0:
        raise UserError(
            "recalibrate_bn: no images came from the batches (an empty loader?); BN statistics left as they were. "
            "Pass a few batches of training images, e.g. 2,000 images."
        )
    return seen
