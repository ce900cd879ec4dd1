"""Measure a subnet's end-to-end latency on this machine with ONNX Runtime (CPU).

Used to put a measured number next to the table's prediction when the search targets the
local machine. The subnet is exported with the TorchScript-based ONNX exporter
(``dynamo=False``, fast) and timed at batch 1 after warm-up; weights do not change latency.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ofa_edge.space.config import SubnetConfig
from ofa_edge.supernet.network import Supernet


def measure_onnxruntime(
    cfg: SubnetConfig,
    num_classes: int,
    *,
    threads: int = 1,
    warmup: int = 10,
    runs: int = 50,
    net: Supernet | None = None,
) -> dict:
    """Median/mean/std (ms) of ``runs`` batch-1 inferences of ``cfg`` on ONNX Runtime's CPU provider."""
    import onnxruntime as ort

    model = (net or Supernet(cfg.search_space, num_classes)).extract(cfg).eval()
    x = torch.randn(1, 3, cfg.resolution, cfg.resolution)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "subnet.onnx"
        with torch.no_grad():
            torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["logits"], dynamo=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feed = {"input": x.numpy()}
    for _ in range(warmup):
        sess.run(None, feed)
    times = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times[i] = (time.perf_counter() - t0) * 1e3
    return {
        "median_ms": float(np.median(times)),
        "mean_ms": float(times.mean()),
        "std_ms": float(times.std()),
        "runs": runs,
        "threads": threads,
        "backend": f"onnxruntime {ort.__version__} CPUExecutionProvider",
    }
