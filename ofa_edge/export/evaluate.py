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


Clock = Callable[[], float]


def median_latency_ms(
    call: Callable[[], object], runs: int = 50, warmup: int = 10, clock: Clock = time.perf_counter
) -> float:
    """Median time of ``call()`` in milliseconds: wall time, or ``clock`` (e.g. ``time.thread_time``
    for the CPU time of single-threaded runs, which other processes on a busy machine do not inflate)."""
    for _ in range(warmup):
        call()
    times = np.empty(runs)
    for i in range(runs):
        t = clock()
        call()
        times[i] = clock() - t
    return float(np.median(times) * 1e3)


def ort_latency_ms(
    session: ort.InferenceSession, resolution: int, runs: int = 50, clock: Clock = time.perf_counter
) -> float:
    """Batch-1 latency of an ONNX Runtime session on a random input."""
    feed = {
        session.get_inputs()[0].name: np.random.default_rng(0).standard_normal(
            (1, 3, resolution, resolution), np.float32
        )
    }
    return median_latency_ms(lambda: session.run(None, feed), runs, clock=clock)


def torch_latency_ms(
    model: torch.nn.Module, resolution: int, runs: int = 50, clock: Clock = time.perf_counter
) -> float:
    """Batch-1 latency of PyTorch eager (inference mode)."""
    x = torch.randn(1, 3, resolution, resolution)
    model = model.eval()

    def call() -> None:
        with torch.inference_mode():
            model(x)

    return median_latency_ms(call, runs, clock=clock)
