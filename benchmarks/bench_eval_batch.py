"""Seconds of CPU inference per 1,000 images by batch size: eager PyTorch (NCHW, channels_last) and ONNX Runtime.

    PYTHONPATH=. python benchmarks/bench_eval_batch.py [--subnets 3] [--images 1000] [--batches 500,100,32,8] [--json out.json]

Sets ``ofa_edge.supernet.evaluate.CPU_EVAL_BATCH``, the batch every eager top-1 pass on a CPU takes.
For seeded random subnets of the embedded supernet (BN statistics as shipped: eval mode has no batch
statistics, so the predictions do not depend on the batch), each way times the forward passes alone
over ``--images`` random inputs at each batch size, the ways and sizes interleaved so that a drift in
the machine's speed spreads over all of them. Times are the process's CPU time (``time.process_time``)
on one thread, which other processes on a shared host do not inflate.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ofa_edge.host import cpu_run_header
from ofa_edge.paths import embedded_supernet
from ofa_edge.supernet.checkpoint import load_supernet
from ofa_edge.supernet.ort_forward import ort_forward


def _ways(sub: torch.nn.Module, resolution: int) -> tuple[dict[str, Callable[[torch.Tensor], torch.Tensor]], float]:
    """Each way as a function of an NCHW batch, and the CPU seconds ONNX Runtime's took to set up (export and
    session): what it must win back before it pays."""
    last = copy.deepcopy(sub).to(memory_format=torch.channels_last)
    t = time.process_time()
    ort = ort_forward(copy.deepcopy(sub), resolution)
    setup_s = time.process_time() - t
    ways = {
        "eager_nchw": sub.eval(),
        "eager_channels_last": lambda x: last(x.contiguous(memory_format=torch.channels_last)),
        "onnxruntime": ort,
    }
    return ways, setup_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subnets", type=int, default=3)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--batches", default="500,100,32,8")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    sizes = [int(b) for b in args.batches.split(",")]
    net = load_supernet(embedded_supernet()).eval()
    rows = []
    for i in range(args.subnets):
        cfg = net.space.sample(np.random.default_rng(i))
        x = torch.randn(args.images, 3, cfg.resolution, cfg.resolution, generator=torch.Generator().manual_seed(i))
        ways, setup_s = _ways(net.extract(cfg), cfg.resolution)
        row: dict = {"subnet": cfg.describe(), "resolution": cfg.resolution, "onnxruntime_setup_s": setup_s}
        with torch.no_grad():
            for size in sizes:
                for name, forward in ways.items():
                    t = time.process_time()
                    for chunk in torch.split(x, size):
                        forward(chunk)
                    row[f"{name}@{size}"] = (time.process_time() - t) * 1000 / args.images
        rows.append(row)
        print(" ".join(f"{k} {v:.2f}" for k, v in row.items() if "@" in k))
    keys = [k for k in rows[0] if "@" in k]
    median = {k: statistics.median(r[k] for r in rows) for k in [*keys, "onnxruntime_setup_s"]}
    result = {
        **cpu_run_header(),
        "settings": vars(args) | {"json": str(args.json)},
        "unit": "CPU seconds per 1,000 images, one thread",
        "rows": rows,
        "median": median,
    }
    print(json.dumps(median, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
