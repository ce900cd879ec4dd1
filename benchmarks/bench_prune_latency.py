"""Error of the pruned-network latency prediction (issue 8) against measurements on this CPU.

Several subnets are slimmed at several group sparsities with nested random zero masks
(latency depends only on the widths, not on which weights survived), then each slim net is
predicted from the x86-cpu table (:func:`ofa_edge.prune.predict.predict_slim_latency`) and
timed with that device's own backend (ONNX Runtime CPU, 1 thread, thread-CPU clock), in
interleaved rounds. A naive baseline scales the table's subnet prediction by the MACs ratio.
``--align 4`` keeps a multiple of 4 channels in every channel space (ONNX Runtime's fast
depthwise path); the default random masks leave unaligned widths.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_prune_latency.py --rounds 5 [--align 4] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from ofa_edge.host import cpu_model, load_average
from ofa_edge.io import atomic_write_json
from ofa_edge.latency.device_timer import DeviceTimer
from ofa_edge.latency.stats import prediction_metrics
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_TABLES
from ofa_edge.prune.measure import count_macs, count_params
from ofa_edge.prune.predict import predict_slim_latency, slim_keys, width_model
from ofa_edge.prune.slim import slim
from ofa_edge.prune.zig import partition
from ofa_edge.space import SearchSpace, SubnetConfig
from ofa_edge.supernet import Supernet

DEVICE = "x86-cpu"


def _subnets(space: SearchSpace, n_random: int, seed: int) -> list[SubnetConfig]:
    rng = np.random.default_rng(seed)
    cfgs = [space.min(24), space.max(32)]
    for r in (28, 32, 24, 28, 32)[:n_random]:
        c = space.sample(rng)
        cfgs.append(SubnetConfig.from_dict({**c.to_dict(), "resolution": r}))
    return cfgs


def _masks(part, sparsities: list[float], align: int, gen: torch.Generator) -> list[torch.Tensor]:
    """Nested zero masks, one per sparsity: a random share of all groups (``align`` 0), or in
    every channel space a random set that leaves a multiple of ``align`` channels."""
    order = torch.randperm(part.num_groups, generator=gen)
    masks = []
    for s in sparsities:
        zero = torch.zeros(part.num_groups, dtype=torch.bool)
        if not align:
            zero[order[: int(s * part.num_groups)]] = True
        else:
            for sp in part.spaces:
                keep = min(sp.size, max(align, align * round((1 - s) * sp.size / align)))
                local = torch.argsort(order[sp.offset : sp.offset + sp.size])  # same order at every s
                zero[sp.offset + local[keep:]] = True
        masks.append(zero)
    return masks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sparsities", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75])
    ap.add_argument("--random-subnets", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--align", type=int, default=0, help="Keep a multiple of N channels per space (0: random).")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_prune_latency.json"))
    a = ap.parse_args()
    if 0.0 not in a.sparsities:
        ap.error("--sparsities must include 0 (the unpruned reference of every subnet)")
    torch.manual_seed(a.seed)
    space = SearchSpace.get("mbv3-w1.0-cifar")
    table = LatencyTable.load(SHIPPED_TABLES / f"{DEVICE}.json")
    wm = width_model(table)
    net = Supernet(space, table.num_classes)
    rows, models = [], []
    for ci, cfg in enumerate(_subnets(space, a.random_subnets, a.seed)):
        model = net.extract(cfg).eval()
        x = torch.randn(1, 3, cfg.resolution, cfg.resolution)
        part = partition(model, x)
        gen = torch.Generator().manual_seed(a.seed + ci)
        base_macs = count_macs(model, x)
        for s, zero in zip(a.sparsities, _masks(part, a.sparsities, a.align, gen), strict=True):
            small = slim(model, part, zero, align=1).eval()  # the mask alone sets the widths
            pred = predict_slim_latency(table, cfg, small, wm)
            macs = count_macs(small, x)
            rows.append(
                {
                    "subnet": cfg.describe(),
                    "sparsity": s,
                    "group_sparsity": float(zero.float().mean()),
                    "unaligned_depthwise": pred["unaligned_depthwise"],
                    "macs": macs,
                    "params": count_params(small),
                    "predicted_ms": pred["pruned_ms"],
                    "subnet_predicted_ms": pred["subnet_ms"],
                    "macs_scaled_ms": pred["subnet_ms"] * macs / base_macs,
                    "keys": slim_keys(small, cfg),
                    "measured": [],
                }
            )
            models.append((small, cfg.resolution))
        print(f"subnet {ci + 1}: {cfg.describe()} ({part.num_groups} groups)", flush=True)
    load = [load_average()]
    timer = DeviceTimer(table)
    for r in range(a.rounds):  # interleaved, so load from other jobs hits every net alike
        for row, (small, res) in zip(rows, models, strict=True):
            row["measured"].append(timer(small, res)["median_ms"])
        load.append(load_average())
        print(f"round {r + 1}/{a.rounds} done, load {load[-1]}", flush=True)
    for row in rows:
        row["measured_ms"] = float(np.median(row["measured"]))
        row["measured_min_ms"] = float(np.min(row["measured"]))
    for row in rows:  # the width model alone: predicted vs measured ratio to the same subnet unpruned
        base = next(b for b in rows if b["subnet"] == row["subnet"] and b["sparsity"] == 0)
        row["predicted_ratio"] = row["predicted_ms"] / base["predicted_ms"]
        row["measured_ratio"] = row["measured_ms"] / base["measured_ms"]
    summary = {}
    for name, sel in (("unpruned", lambda s: s == 0), ("pruned", lambda s: s > 0)):
        rs = [r for r in rows if sel(r["sparsity"])]
        m = np.array([r["measured_ms"] for r in rs])
        summary[name] = {
            "predictor": prediction_metrics(np.array([r["predicted_ms"] for r in rs]), m),
            "macs_scaled_baseline": prediction_metrics(np.array([r["macs_scaled_ms"] for r in rs]), m),
        }
    pruned = [r for r in rows if r["sparsity"] > 0]
    summary["pruned"]["ratio_to_unpruned"] = prediction_metrics(
        np.array([r["predicted_ratio"] for r in pruned]), np.array([r["measured_ratio"] for r in pruned])
    )
    doc = {
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": load,
        "device": DEVICE,
        "masks": f"aligned to {a.align} channels per space" if a.align else "random share of all groups",
        "width_model": wm.describe(),
        "width_model_coef": wm.coef,
        "table_date": table.provenance.get("date"),
        "rows": rows,
        "summary": summary,
    }
    atomic_write_json(a.out, doc)
    print(
        f"{'subnet':70s} {'sp':>5s} {'dw!4':>4s} {'MACs':>7s} {'pred':>7s} {'meas':>7s} {'err':>7s} {'MACs-scaled err':>8s}"
    )
    for r in rows:
        err = 100 * (r["predicted_ms"] - r["measured_ms"]) / r["measured_ms"]
        base = 100 * (r["macs_scaled_ms"] - r["measured_ms"]) / r["measured_ms"]
        print(
            f"{r['subnet'][:70]:70s} {r['group_sparsity']:5.2f} {r['unaligned_depthwise']:4d} {r['macs'] / 1e6:6.1f}M {r['predicted_ms']:7.3f} "
            f"{r['measured_ms']:7.3f} {err:+6.1f}% {base:+6.1f}%"
        )
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
