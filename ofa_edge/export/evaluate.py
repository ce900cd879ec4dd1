"""Measuring exported models on this CPU: top-1 accuracy and batch-1 latency."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnxruntime as ort
import torch

from ofa_edge.latency.backends.base import time_calls
from ofa_edge.latency.stats import robust_stats
from ofa_edge.onnx_bridge import run_session


def top1(session: ort.InferenceSession, images: torch.Tensor, labels: torch.Tensor, batch: int = 1) -> float:
    """Top-1 accuracy (%) of ``session`` on normalised ``images``."""
    pred = run_session(session, images, batch).argmax(1)
    return 100.0 * float((pred == labels.numpy()).mean())


def median_latency_ms(call: Callable[[], object], runs: int = 50, warmup: int = 10, clock: str = "wall") -> float:
    """Median time of ``call()`` in ms, on the latency package's timing loop: ``wall`` time, or
    ``thread_cpu`` (the CPU time of single-threaded runs, which other processes do not inflate)."""
    return float(np.median(time_calls(call, warmup, runs, clock)))


def ort_latency_stats(
    session: ort.InferenceSession, x: torch.Tensor, runs: int = 50, warmup: int = 10, clock: str = "wall"
) -> dict:
    """Latency (ms) of ``session`` on the input ``x``: the latency package's
    :func:`~ofa_edge.latency.stats.robust_stats` (median; mean/std after dropping outliers)
    plus the minimum and 10th percentile of all runs.

    On a loaded machine the median includes time the process waited for a core; the
    minimum and 10th percentile are the better estimates of the model's own cost."""
    feed = {session.get_inputs()[0].name: x.numpy().astype(np.float32, copy=False)}
    times = time_calls(lambda: session.run(None, feed), warmup, runs, clock)
    stats = robust_stats(times)
    return {
        "median_ms": stats["median"],
        "mean_ms": stats["mean"],
        "std_ms": stats["std"],
        "kept_runs": int(stats["count"]),
        "min_ms": float(times.min()),
        "p10_ms": float(np.percentile(times, 10)),
        "runs": runs,
    }


def ort_latency_ms(session: ort.InferenceSession, resolution: int, runs: int = 50, clock: str = "wall") -> float:
    """Median batch-1 latency of an ONNX Runtime session on a random input."""
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, resolution, resolution), np.float32))
    return ort_latency_stats(session, x, runs, clock=clock)["median_ms"]


def torch_latency_ms(model: torch.nn.Module, resolution: int, runs: int = 50, clock: str = "wall") -> float:
    """Batch-1 latency of PyTorch eager (inference mode)."""
    x = torch.randn(1, 3, resolution, resolution)
    model = model.eval()

    def call() -> None:
        with torch.inference_mode():
            model(x)

    return median_latency_ms(call, runs, clock=clock)
