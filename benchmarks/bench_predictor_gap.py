"""How far above test top-1 do the accuracy predictor's labels read? (the embedded supernet)

The predictor is fitted on top-1 measured on held-out images of the *training* split, which the
supernet trained on. This script takes ``--subnets`` random subnets from the embedded supernet's
accuracy cache and measures each with ``ofa-edge eval`` on the whole test split (BN recalibrated
on 2,000 training images, as eval does), and optionally the subnets of search results.

    python benchmarks/bench_predictor_gap.py --subnets 8 --search /tmp/qs/home/search --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ofa_edge.paths import pretrained_dir
from ofa_edge.space import SubnetConfig


def _test_top1(subnet: Path) -> float:
    """``ofa-edge eval`` of ``subnet`` on the whole test split, one thread."""
    done = subprocess.run(
        ["ofa-edge", "eval", "--subnet", str(subnet), "--device", "cpu", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"OMP_NUM_THREADS": "1"},
    )
    (result,) = json.loads(done.stdout)["subnets"].values()
    return float(result["top1"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subnets", type=int, default=8, help="random subnets of the accuracy cache")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--search", type=Path, action="append", default=[], help="a search output folder (repeatable)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()

    doc = json.loads((pretrained_dir() / "supernet.accuracy.json").read_text())
    (supernet,) = doc["supernets"].values()
    (labels,) = supernet["by_settings"].values()
    items = list(labels.items())
    rows, tmp = [], Path(tempfile.mkdtemp())
    for i in np.random.default_rng(args.seed).choice(len(items), args.subnets, replace=False):
        key, label = items[i]
        path = tmp / f"s{i}.json"
        SubnetConfig.from_json(key).save(path)
        t = time.time()
        rows.append({"subnet": key, "label_top1": label, "test_top1": _test_top1(path), "seconds": time.time() - t})
        print(f"{label:.2f} (label) vs {rows[-1]['test_top1']:.2f} (test)", flush=True)
    gap = np.array([r["label_top1"] - r["test_top1"] for r in rows])
    searched = []
    for folder in args.search:
        report = json.loads((folder / "search.json").read_text())
        predicted = report["predicted"]["accuracy"]
        searched.append({"search": str(folder), "predicted_top1": predicted, "test_top1": _test_top1(folder)})
        print(f"{predicted:.2f} (predicted, {folder}) vs {searched[-1]['test_top1']:.2f} (test)", flush=True)
    result = {
        "random_subnets": rows,
        "label_minus_test_mean": float(gap.mean()),
        "label_minus_test_std": float(gap.std()),
        "searched": searched,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "random_subnets"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
