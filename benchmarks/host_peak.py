"""This CPU's single-core figures for a device file's ``datasheet`` (the roofline of ``--estimate``).

A VM often hides the exact processor, so the vendor's datasheet cannot be looked up; what one
core reaches is measured instead: FP32 SGEMM throughput (torch, one thread, best of 10 per size)
and copy bandwidth (numpy, 256 MB, read + write counted, best of 8).

    python benchmarks/host_peak.py [--json out.json]

The peak a device file records should be the SGEMM rounded up to a whole FLOP/cycle count
(SGEMM reaches ~95 % of peak on cores with two FMA pipes); the bandwidth is the copy figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ofa_edge.host import host_info, now_utc


def best_seconds(call, repeats: int) -> float:
    """Fastest of ``repeats`` timed calls (after three untimed ones)."""
    for _ in range(3):
        call()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t)
    return best


def sgemm_gflops(n: int) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / best_seconds(lambda: a @ b, 10) / 1e9


def copy_gbs(megabytes: int = 256) -> float:
    src = np.ones(megabytes * 2**20 // 4, dtype=np.float32)
    dst = np.empty_like(src)
    return 2 * src.nbytes / best_seconds(lambda: np.copyto(dst, src), 8) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    result = {
        "date": now_utc(),
        "host": host_info(),
        "sgemm_gflops": {n: round(sgemm_gflops(n), 1) for n in (512, 1024, 2048)},
        "copy_gbs": round(copy_gbs(), 1),
    }
    for n, g in result["sgemm_gflops"].items():
        print(f"SGEMM n={n}: {g} GFLOP/s (one thread)")
    print(f"copy: {result['copy_gbs']} GB/s (one core, read + write)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
