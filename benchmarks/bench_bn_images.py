"""Top-1 of subnets after BN recalibration on N training images: how few images are too few.

    PYTHONPATH=. python benchmarks/bench_bn_images.py [--subnets 4] [--test 2000] [--json out.json]

For seeded random subnets of the embedded supernet: BN statistics recomputed on the first N of a
seeded shuffle of training images (N in --counts; batches of 100, as export recalibrated then), then top-1 on --test
images of the test split; top-1 with the supernet's own statistics (no recalibration: what a forward
pass without the step gets); on the largest N in file order, which for CIFAR-10's packed files
is class by class (what export did before it shuffled); and on the first 512 of them, 2-4 classes
(what prune did before it shuffled). This sets where export, eval and train warn that --bn-images is
too few.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import torch

from ofa_edge.data import DEFAULT_ROOT, load_dataset
from ofa_edge.host import cpu_run_header
from ofa_edge.paths import embedded_supernet
from ofa_edge.supernet.checkpoint import load_supernet
from ofa_edge.supernet.evaluate import eval_batches, evaluate_subnet


def top1_without_recalibration(net, cfg, test) -> float:
    """Top-1 of the extracted subnet with the supernet's BN statistics."""
    sub = net.extract(cfg).eval()
    correct = 0
    with torch.no_grad():
        for x, y in eval_batches(test, 500, torch.device("cpu"), net.space.mean, net.space.std):
            x = torch.nn.functional.interpolate(x, size=cfg.resolution, mode="bilinear", antialias=True)
            correct += int((sub(x).argmax(1) == y).sum())
    return 100.0 * correct / len(test)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subnets", type=int, default=4)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--counts", default="1,10,50,100,200,500,2000")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    net = load_supernet(embedded_supernet()).eval()
    in_file_order = load_dataset(DEFAULT_ROOT, "train", limit=max(counts), seed=1, balanced=False)
    train = in_file_order.shuffled(1)
    test = load_dataset(DEFAULT_ROOT, "test", limit=args.test, seed=0, balanced=False)
    rows = []
    for i in range(args.subnets):
        cfg = net.space.sample(np.random.default_rng(i))
        row = {"subnet": cfg.describe(), "no_recalibration": top1_without_recalibration(net, cfg, test)}
        for n in counts:
            calib = train.subset(np.arange(n))
            row[str(n)] = evaluate_subnet(net, cfg, calib, test, torch.device("cpu"), 100, calib_batch=100)["top1"]
        row["file_order"] = evaluate_subnet(net, cfg, in_file_order, test, torch.device("cpu"), 100, calib_batch=100)[
            "top1"
        ]
        first_512 = in_file_order.subset(np.arange(min(512, len(in_file_order))))
        row["classes_in_first_512"] = len(first_512.labels.unique())
        row["file_order_first_512"] = evaluate_subnet(
            net, cfg, first_512, test, torch.device("cpu"), 100, calib_batch=100
        )["top1"]
        rows.append(row)
        print(json.dumps(row))
    result = {
        **cpu_run_header(),
        "settings": vars(args) | {"json": str(args.json)},
        "rows": rows,
        "median_top1": {
            k: statistics.median(r[k] for r in rows)
            for k in ["no_recalibration", *map(str, counts), "file_order", "file_order_first_512"]
        },
    }
    print(json.dumps(result["median_top1"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
