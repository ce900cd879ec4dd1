"""Exported-model latency on this CPU: PyTorch eager vs ONNX Runtime FP32 vs ONNX Runtime INT8.

    PYTHONPATH=. python benchmarks/bench_export.py [--threads 1] [--runs 100] [--json out.json]

Batch 1. For each space (CIFAR at 32 px, ImageNet at 128 px) times the min, a random and the
max subnet: export time (TorchScript exporter + simplification), torch eager latency, ORT FP32,
ORT INT8 with uint8 activations (the onnx/ort bundles' flavour) and with symmetric int8
activations (the TensorRT bundles' flavour). Latency does not depend on the weights, so a
freshly initialised supernet is used; INT8 calibration uses 64 real CIFAR-10 training images.

Each latency is given twice: the median wall time, and the median CPU time of the calling
thread (``time.thread_time``). With one thread, both runtimes compute on the calling thread,
so the CPU time is the latency without the preemption by other processes that a shared
machine adds to the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch

from ofa_edge import SearchSpace, SubnetConfig, Supernet
from ofa_edge.data import DEFAULT_ROOT, load_packed
from ofa_edge.data.transforms import normalize, resize
from ofa_edge.export.evaluate import ort_latency_ms, torch_latency_ms
from ofa_edge.export.int8 import quantize_int8
from ofa_edge.export.onnx_export import export_onnx
from ofa_edge.export.verify import verify
from ofa_edge.host import cpu_model
from ofa_edge.onnx_bridge import ort_session
from ofa_edge.space import CostModel

CASES = {"mbv3-w1.0-cifar": 32, "mbv3-w1.0-imagenet": 128}


def subnets(space: SearchSpace, res: int) -> dict[str, SubnetConfig]:
    rnd = space.sample(np.random.default_rng(0))
    return {
        "min": space.min(res),
        "random": SubnetConfig(space.name, res, rnd.depth, rnd.kernel, rnd.expand),
        "max": space.max(res),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    train = load_packed(DEFAULT_ROOT, "train", limit=64, seed=1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, res in CASES.items():
            space = SearchSpace.get(name)
            torch.manual_seed(0)
            net = Supernet(space, 10).eval()
            calib = resize(normalize(train.images, space.mean, space.std), res)
            cost = CostModel(space, 10)
            for label, cfg in subnets(space, res).items():
                model = net.extract(cfg).eval()
                t = time.perf_counter()
                onnx.save(export_onnx(model, res), tmp / "m.onnx")
                export_s = time.perf_counter() - t
                diff = verify(tmp / "m.onnx", model, calib[:4]).max_abs_diff
                row = {
                    "space": name,
                    "subnet": label,
                    "resolution": res,
                    "macs_m": float(cost.macs([cfg])[0] / 1e6),
                    "params_m": float(cost.params([cfg])[0] / 1e6),
                    "export_s": export_s,
                    "max_abs_diff": diff,
                }
                for clock, suffix in (("thread_cpu", "cpu_ms"), ("wall", "wall_ms")):
                    row[f"torch_{suffix}"] = torch_latency_ms(model, res, args.runs, clock)
                    row[f"ort_fp32_{suffix}"] = ort_latency_ms(
                        ort_session(tmp / "m.onnx", args.threads), res, args.runs, clock
                    )
                for act in ("uint8", "int8"):
                    quantize_int8(tmp / "m.onnx", tmp / f"q_{act}.onnx", calib, activation=act)
                    session = ort_session(tmp / f"q_{act}.onnx", args.threads)
                    for clock, suffix in (("thread_cpu", "cpu_ms"), ("wall", "wall_ms")):
                        row[f"ort_int8_{act}_{suffix}"] = ort_latency_ms(session, res, args.runs, clock)
                rows.append(row)
                print(json.dumps(row), flush=True)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu_model(),
        "threads": args.threads,
        "load_average_at_end": os.getloadavg(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    keys = ("torch", "ort_fp32", "ort_int8_uint8", "ort_int8_int8")
    print(
        "| space | subnet | MMACs | export s | torch eager ms | ORT FP32 ms | ORT INT8 u8 ms | ORT INT8 s8 ms | torch/ORT |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = " | ".join(f"{r[k + '_cpu_ms']:.2f} ({r[k + '_wall_ms']:.2f})" for k in keys)
        print(
            f"| {r['space']} @{r['resolution']} | {r['subnet']} | {r['macs_m']:.0f} | {r['export_s']:.2f} | {cells} | "
            f"{r['torch_cpu_ms'] / r['ort_fp32_cpu_ms']:.1f}x |"
        )
    print(json.dumps(meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
