"""Top-1 of subnets after BN recalibration in batches of 100, 256 and 500: how much the batch matters.

    PYTHONPATH=. python benchmarks/bench_bn_batch.py [--calib 2000] [--seeds 3] [--test 5000] [--json out.json]

BN recalibration averages each batch's own statistics, so its batch size changes a subnet's
statistics and its top-1. For the min, mid and max subnets of the embedded supernet: BN recomputed
(:func:`~ofa_edge.supernet.evaluate.evaluate_subnet`) on the same ``--calib`` training images in
batches of each of ``--batches``, then top-1 on a fixed subset of ``--test`` test images; repeated on
``--seeds`` draws of the calibration images, whose spread is the noise the batch's effect is set
against. Also the CPU seconds of each recalibration (process time, the test pass excluded).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ofa_edge.data import DEFAULT_ROOT, load_dataset
from ofa_edge.host import cpu_run_header
from ofa_edge.paths import embedded_supernet
from ofa_edge.supernet import evaluate
from ofa_edge.supernet.checkpoint import load_supernet
from ofa_edge.train.probes import probe_configs


def timed(fn: Callable[..., int], seconds: list[float]) -> Callable[..., int]:
    """``fn`` that appends the CPU seconds of each call to ``seconds``."""

    def wrapper(*args, **kwargs) -> int:
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds.append(time.process_time() - start)

    return wrapper


def spread(values: list[float]) -> float:
    """Largest minus smallest."""
    return max(values) - min(values)


def summarise(rows: list[dict], batches: list[int]) -> dict:
    """Per subnet: top-1 by batch (mean over seeds), the seeds' spread at each batch, and the
    spread over batches of each seed's top-1 (the batch's effect on the same images)."""
    out = {}
    for name in dict.fromkeys(r["subnet"] for r in rows):
        mine = [r for r in rows if r["subnet"] == name]
        by_batch = {b: [r["top1"][str(b)] for r in mine] for b in batches}
        out[name] = {
            "mean_top1": {b: round(statistics.mean(v), 3) for b, v in by_batch.items()},
            "seed_spread": {b: round(spread(v), 3) for b, v in by_batch.items()},
            "batch_spread_per_seed": [round(spread(list(r["top1"].values())), 3) for r in mine],
            "recalibration_cpu_s": {b: round(statistics.median(r["cpu_s"][str(b)] for r in mine), 2) for b in batches},
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calib", type=int, default=2000, help="training images BN is recalibrated on")
    ap.add_argument("--seeds", type=int, default=3, help="draws of the calibration images")
    ap.add_argument("--test", type=int, default=5000, help="test images top-1 is measured on (a fixed subset)")
    ap.add_argument("--batches", default="100,256,500")
    ap.add_argument("--subnets", default="min,mid,max", help="probe subnets (min, mid, max, rand0, rand1)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    net = load_supernet(embedded_supernet()).eval()
    probes = probe_configs(net.space)
    test = load_dataset(DEFAULT_ROOT, "test", limit=args.test, seed=0, balanced=False)
    cpu = torch.device("cpu")
    seconds: list[float] = []
    evaluate.recalibrate_bn = timed(evaluate.recalibrate_bn, seconds)
    rows = []
    for name in args.subnets.split(","):
        cfg = probes[name]
        for seed in range(args.seeds):
            calib = load_dataset(DEFAULT_ROOT, "train", limit=args.calib, seed=seed, balanced=False).shuffled(seed)
            row = {"subnet": name, "config": cfg.describe(), "seed": seed, "top1": {}, "cpu_s": {}}
            for b in batches:  # interleaved, so that a change in load hits every batch alike
                row["top1"][str(b)] = evaluate.evaluate_subnet(net, cfg, calib, test, cpu, 500, calib_batch=b)["top1"]
                row["cpu_s"][str(b)] = round(seconds[-1], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {
        **cpu_run_header(),
        "settings": vars(args) | {"json": str(args.json)},
        "rows": rows,
        "summary": summarise(rows, batches),
    }
    print(json.dumps(result["summary"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
