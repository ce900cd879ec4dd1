"""Measuring exported models on this CPU: top-1 accuracy and batch-1 latency."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import onnxruntime as ort
import torch

from ofa_edge.export.verify import run_session


def top1(session: ort.InferenceSession, images: torch.Tensor, labels: torch.Tensor, batch: int = 1) -> float:
    """Top-1 accuracy (0..1) of ``session`` on normalised ``images``."""
    pred = run_session(session, images, batch).argmax(1)
    return float((pred == labels.numpy()).mean())


def median_latency_ms(call: Callable[[], object], runs: int = 50, warmup: int = 10) -> float:
    """Median wall time of ``call()`` in milliseconds."""
    for _ in range(warmup):
        call()
    times = np.empty(runs)
    for i in range(runs):
        t = time.perf_counter()
        call()
        times[i] = time.perf_counter() - t
    return float(np.median(times) * 1e3)


def ort_latency_ms(session: ort.InferenceSession, resolution: int, runs: int = 50) -> float:
    """Batch-1 latency of an ONNX Runtime session on a random input."""
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).standard_normal((1, 3, resolution, resolution), np.float32)}
    return median_latency_ms(lambda: session.run(None, feed), runs)


def torch_latency_ms(model: torch.nn.Module, resolution: int, runs: int = 50) -> float:
    """Batch-1 latency of PyTorch eager (inference mode)."""
    x = torch.randn(1, 3, resolution, resolution)
    model = model.eval()

    def call() -> None:
        with torch.inference_mode():
            model(x)

    return median_latency_ms(call, runs)
