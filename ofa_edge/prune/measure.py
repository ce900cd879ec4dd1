"""Costs of a concrete network: MACs, parameters, ONNX export and ONNX Runtime latency
(verification against PyTorch is the export package's :func:`~ofa_edge.export.verify.verify`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ofa_edge.export.evaluate import ort_latency_stats
from ofa_edge.export.onnx_export import export_onnx
from ofa_edge.onnx_bridge import ort_session


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
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


def onnx_bytes(model: nn.Module, resolution: int) -> bytes:
    """``model`` (put in eval mode) exported for batch 1 by the export package's exporter, as ONNX bytes."""
    return export_onnx(model.eval(), resolution).SerializeToString()


def ort_latency(
    model: str | Path | bytes, example: torch.Tensor, runs: int = 100, warmup: int = 10, threads: int = 1
) -> dict:
    """Batch-1 latency of the ONNX model (file or bytes) on ONNX Runtime's CPU provider (ms): the export package's
    :func:`~ofa_edge.export.evaluate.ort_latency_stats` on ``threads`` threads. On one thread ONNX Runtime
    computes on the calling thread, so that thread's CPU time is timed: what the network takes on a core of
    its own, whatever else runs (wall-clock medians of one subnet read 4.1-9.8 ms on a shared 2-core VM)."""
    clock = "thread_cpu" if threads == 1 else "wall"
    stats = ort_latency_stats(ort_session(model, threads), example[:1], runs, warmup, clock)
    return {**stats, "threads": threads, "provider": "CPUExecutionProvider", "clock": clock}
