"""Seconds to measure one subnet's top-1 on a CPU: eager PyTorch vs ONNX Runtime forward passes.

    PYTHONPATH=. python benchmarks/bench_eval.py [--subnets 6] [--val 5000] [--calib 500] [--json out.json]

This is the cost of every accuracy measurement the search's predictor needs (``--samples``,
default 1000 subnets) and of ``ofa-edge eval``. For each of ``--subnets`` seeded random subnets
of the embedded supernet, ``evaluate_subnet`` runs both ways, interleaved (BN recalibration on
``--calib`` training images, top-1 on ``--val`` other training images, batch 500, the search's
held-out split); the two top-1 must agree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ofa_edge.data import DEFAULT_ROOT
from ofa_edge.host import cpu_run_header
from ofa_edge.paths import pretrained_dir
from ofa_edge.search.accuracy import MeasureSettings, holdout_split
from ofa_edge.supernet.checkpoint import load_supernet
from ofa_edge.supernet.evaluate import evaluate_subnet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subnets", type=int, default=6)
    ap.add_argument("--val", type=int, default=5000)
    ap.add_argument("--calib", type=int, default=500)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    net = load_supernet(pretrained_dir() / "supernet.safetensors").eval()
    calib, val = holdout_split(DEFAULT_ROOT, MeasureSettings(n_val=args.val, n_calib=args.calib, batch_size=500))
    rows = []
    for cfg in [net.space.sample(np.random.default_rng(i)) for i in range(args.subnets)]:
        row = {"resolution": cfg.resolution}
        for way in ("eager", "ort"):
            t = time.perf_counter()
            row[f"{way}_top1"] = evaluate_subnet(net, cfg, calib, val, torch.device("cpu"), 500, ort=way == "ort")[
                "top1"
            ]
            row[f"{way}_s"] = time.perf_counter() - t
        rows.append(row)
        print(f"r{cfg.resolution}: eager {row['eager_s']:.2f} s, ort {row['ort_s']:.2f} s, top-1 {row['ort_top1']:.2f}")
    eager, ort = (statistics.median(r[f"{w}_s"] for r in rows) for w in ("eager", "ort"))
    result = {
        **cpu_run_header(),
        "settings": vars(args) | {"json": str(args.json)},
        "rows": rows,
        "median_s": {"eager": eager, "ort": ort},
        "speedup": eager / ort,
        "same_top1": all(r["eager_top1"] == r["ort_top1"] for r in rows),
    }
    print(json.dumps({k: result[k] for k in ("median_s", "speedup", "same_top1")}))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
