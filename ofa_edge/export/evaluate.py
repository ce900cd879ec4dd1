"""Measuring exported models on this CPU: top-1 accuracy and batch-1 latency."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnxruntime as ort
import torch

from ofa_edge.export.verify import run_session
from ofa_edge.latency.backends.base import time_calls


def top1(session: ort.InferenceSession, images: torch.Tensor, labels: torch.Tensor, batch: int = 1) -> float:
    """Top-1 accuracy (0..1) of ``session`` on normalised ``images``."""
    pred = run_session(session, images, batch).argmax(1)
    return float((pred == labels.numpy()).mean())


def median_latency_ms(call: Callable[[], object], runs: int = 50, warmup: int = 10, clock: str = "wall") -> float:
    """Median time of ``call()`` in ms, on the latency package's timing loop: ``wall`` time, or
    ``thread_cpu`` (the CPU time of single-threaded runs, which other processes do not inflate)."""
    return float(np.median(time_calls(call, warmup, runs, clock)))


def ort_latency_ms(session: ort.InferenceSession, resolution: int, runs: int = 50, clock: str = "wall") -> float:
    """Batch-1 latency of an ONNX Runtime session on a random input."""
    feed = {
        session.get_inputs()[0].name: np.random.default_rng(0).standard_normal(
            (1, 3, resolution, resolution), np.float32
        )
    }
    return median_latency_ms(lambda: session.run(None, feed), runs, clock=clock)


def torch_latency_ms(model: torch.nn.Module, resolution: int, runs: int = 50, clock: str = "wall") -> float:
    """Batch-1 latency of PyTorch eager (inference mode)."""
    x = torch.randn(1, 3, resolution, resolution)
    model = model.eval()

    def call() -> None:
        with torch.inference_mode():
            model(x)

    return median_latency_ms(call, runs, clock=clock)
