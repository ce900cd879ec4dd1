"""Top-1 of a subnet after batch-norm recalibration, on its own extracted module.

The subnet is extracted first, so recalibration never disturbs the supernet's own statistics.
Training probes, ``ofa-edge eval`` and the search's accuracy data all measure this way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn

from ofa_edge.data import ImageSet
from ofa_edge.data.transforms import fast_memory_format, normalize, resize
from ofa_edge.space import SearchSpace, SubnetConfig
from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH, recalibrate_bn
from ofa_edge.supernet.network import Supernet
from ofa_edge.supernet.ort_forward import MIN_IMAGES, ort_forward

# A CPU infers fastest in small batches, whose activations stay in the caches: per 1,000 images,
# eager PyTorch took 14.0 s in batches of 500 and 4.0 s in batches of 32, ONNX Runtime 2.6 s and
# 2.0 s (benchmarks/bench_eval_batch.py, AMD EPYC Zen 4 VM, 1 thread; docs/benchmarks.md).
CPU_EVAL_BATCH = 32


def eval_batches(
    data: ImageSet, batch_size: int, device: torch.device, mean: Sequence[float], std: Sequence[float]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (normalised images, labels) in order, without augmentation."""
    for i in range(0, len(data), batch_size):
        x = data.images[i : i + batch_size].to(device)
        yield normalize(x, mean, std), data.labels[i : i + batch_size].to(device)


def eval_batch_size(batch_size: int, device: torch.device) -> int:
    """The batch an inference pass takes: on a CPU at most :data:`CPU_EVAL_BATCH` images (the
    result is the same: eval mode has no batch statistics)."""
    return min(batch_size, CPU_EVAL_BATCH) if device.type == "cpu" else batch_size


def _batches(
    data: ImageSet, batch_size: int, device: torch.device, space: SearchSpace, resolution: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images at ``resolution`` in the device's fast memory format, labels), in order."""
    fmt = fast_memory_format(device)
    for x, y in eval_batches(data, batch_size, device, space.mean, space.std):
        yield resize(x, resolution).contiguous(memory_format=fmt), y


@torch.no_grad()
def evaluate_subnet(
    net: Supernet,
    cfg: SubnetConfig,
    calib: ImageSet,
    val: ImageSet,
    device: torch.device,
    batch_size: int = 256,
    ort: bool | None = None,
    calib_batch: int = BN_CALIB_BATCH,
) -> dict[str, float]:
    """Top-1 (%) of ``cfg`` on ``val`` after recalibrating BN on ``calib`` (unaugmented) in batches of
    ``calib_batch``: BN averages per-batch statistics, so that batch moves top-1 a little (every command
    keeps the default), while the inference batch ``batch_size`` does not. The forward passes run on ONNX Runtime
    (:func:`~ofa_edge.supernet.ort_forward.ort_forward`, faster on a CPU) with ``ort``; by default on a CPU
    from :data:`~ofa_edge.supernet.ort_forward.MIN_IMAGES` images on."""
    sub = net.extract(cfg).to(device, memory_format=fast_memory_format(device))
    calib_batches = _batches(calib, calib_batch, device, net.space, cfg.resolution)
    recalibrate_bn(sub, (x for x, _ in calib_batches))
    top1 = module_top1(sub, val, device, batch_size, net.space, cfg.resolution, ort)
    return {"top1": top1, "images": len(val), "calib_images": len(calib)}


@torch.no_grad()
def module_top1(
    module: nn.Module,
    val: ImageSet,
    device: torch.device,
    batch_size: int,
    space: SearchSpace,
    resolution: int,
    ort: bool | None = None,
    onnx: bytes | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> float:
    """Top-1 (%) of ``module`` (in eval mode, its BN statistics as they are) on ``val``, normalised as ``space``
    and resized to ``resolution``; on ONNX Runtime with ``ort``, by default on a CPU from
    :data:`~ofa_edge.supernet.ort_forward.MIN_IMAGES` images on, running ``onnx`` (``module`` already exported)
    where given. ``module`` is handed back on ``device`` with NCHW weights (it runs in the device's fast memory
    format meanwhile), as training and slimming take it. ``on_batch(images)`` reports progress after each batch:
    the images scored so far."""
    module = module.to(device, memory_format=fast_memory_format(device))
    if ort is None:
        ort = device.type == "cpu" and len(val) >= MIN_IMAGES
    try:
        forward = ort_forward(module, resolution, onnx) if ort else module
        correct = torch.zeros((), dtype=torch.int64, device=device)  # read once: a read per batch waits for a GPU
        done = 0
        for x, y in _batches(val, eval_batch_size(batch_size, device), device, space, resolution):
            correct += (forward(x).argmax(1) == y).sum()
            done += len(y)
            if on_batch is not None:
                on_batch(done)
    finally:
        module.to(memory_format=torch.contiguous_format)
    return 100.0 * int(correct) / max(1, len(val))
