"""Costs of a concrete network: MACs, parameters, ONNX export and ONNX Runtime latency
(verification against PyTorch is the export package's :func:`~ofa_edge.export.verify.verify`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from ofa_edge.export.onnx_export import export_onnx as onnx_export
from ofa_edge.export.verify import ort_session
from ofa_edge.io import atomic_write
from ofa_edge.latency.backends.base import time_calls
from ofa_edge.latency.stats import robust_stats


@torch.no_grad()
def count_macs(model: nn.Module, example: torch.Tensor) -> int:
    """Multiply-accumulates per image of the Conv2d and Linear layers (batch of 1)."""
    total = 0

    def hook(m: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1]
            total += out[0].numel() * (m.in_channels // m.groups) * k
        else:
            total += out[0].numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    was_training = model.training
    try:
        model.eval()
        model(example[:1])
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """Export ``model`` (eval mode, batch 1) with the export package's exporter; atomic write."""
    proto = onnx_export(model.eval(), example.shape[-1])
    atomic_write(path, lambda p: onnx.save(proto, str(p)))
    return Path(path)


def ort_latency(path: str | Path, example: torch.Tensor, runs: int = 100, warmup: int = 10, threads: int = 1) -> dict:
    """Batch-1 latency on ONNX Runtime's CPU provider (ms): the latency package's
    :func:`~ofa_edge.latency.stats.robust_stats` (median; mean/std after dropping outliers)
    plus the minimum and 10th percentile of all runs.

    On a loaded machine the median includes time the process waited for a core; the
    minimum and 10th percentile are the better estimates of the model's own cost."""
    sess = ort_session(path, threads)
    feed = {sess.get_inputs()[0].name: example[:1].numpy()}
    times = time_calls(lambda: sess.run(None, feed), warmup, runs)
    stats = robust_stats(times)
    return {
        "median_ms": stats["median"],
        "mean_ms": stats["mean"],
        "std_ms": stats["std"],
        "kept_runs": int(stats["count"]),
        "min_ms": float(times.min()),
        "p10_ms": float(np.percentile(times, 10)),
        "runs": runs,
        "threads": threads,
        "provider": "CPUExecutionProvider",
    }
