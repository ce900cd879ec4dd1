"""Latency-table benchmark: prediction throughput and validation quality.

    PYTHONPATH=. python benchmarks/bench_latency.py [--table ofa_edge/latency_tables/x86-cpu.json] [--n 1000000]

Prints one JSON document: configs/s of ``LatencyTable.predict_lut`` / ``predict`` (vectorized
over genomes, wall clock and per CPU-second, and from SubnetConfig objects), compared with the 1,000,000 configs/s target
and once-for-all's 66 µs per config (ANCHORS.md); the table's validation numbers (share of
random subnets within ±10%, MAPE, Kendall τ) from its report; the estimate model's error.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from ofa_edge.host import cpu_model, load_average, now_utc
from ofa_edge.latency.e2e import validation_path
from ofa_edge.latency.table import LatencyTable
from ofa_edge.space.genome import decode, sample

TARGET = 1_000_000
OFA_US_PER_CONFIG = 66.0


def best_of(fn, repeats: int = 5, clock=time.perf_counter) -> float:
    """Best of ``repeats`` runs; ``clock=time.process_time`` gives CPU seconds (robust to other jobs)."""
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", default="ofa_edge/latency_tables/x86-cpu.json")
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    table = LatencyTable.load(args.table)
    space = table.search_space
    rng = np.random.default_rng(0)
    genomes = sample(space, args.n, rng)
    allowed = np.array([space.resolutions.index(r) for r in table.resolutions], dtype=np.uint8)
    genomes[:, 0] = allowed[rng.integers(0, len(allowed), args.n)]
    table.predict_lut(genomes[:10])  # build the dense arrays once
    t_lut = best_of(lambda: table.predict_lut(genomes))
    t_pred = best_of(lambda: table.predict(genomes))
    cfgs = decode(space, genomes[:10_000])
    t_cfg = best_of(lambda: table.predict(cfgs), 3)
    cpu_pred = best_of(lambda: table.predict(genomes), 5, time.process_time)
    result = {
        "date": now_utc(),
        "host_cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_avg_1min": load_average(),
        "table": args.table,
        "n_genomes": args.n,
        "predict_lut_configs_per_s": args.n / t_lut,
        "predict_corrected_configs_per_s": args.n / t_pred,
        "predict_corrected_configs_per_cpu_s": args.n / cpu_pred,
        "predict_from_SubnetConfig_configs_per_s": len(cfgs) / t_cfg,
        "target_configs_per_s": TARGET,
        "meets_target_wall": args.n / t_pred >= TARGET,
        "meets_target_cpu_time": args.n / cpu_pred >= TARGET,
        "ofa_us_per_config": OFA_US_PER_CONFIG,
        "speedup_vs_ofa": OFA_US_PER_CONFIG * 1e-6 * args.n / t_pred,
    }
    report = validation_path(Path(args.table))
    if report.is_file():
        rep = json.loads(report.read_text())
        result["validation"] = {
            "n": rep["lut"]["n"],
            "lut": rep["lut"],
            "corrected": rep["corrected"],
            "clock": rep.get("clock"),
        }
    est = Path(args.table).parent / "raspberry-pi-5.json"
    if est.is_file():
        fit = LatencyTable.load(est).provenance.get("fit", {})
        result["estimate_model_error_on_reference"] = {k: v for k, v in fit.items() if k.startswith("reference_")}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
