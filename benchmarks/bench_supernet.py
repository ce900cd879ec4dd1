"""Supernet and cost-model benchmarks (issue 2).

(a) time to extract a standalone subnet (median over random configs, CIFAR and ImageNet spaces);
(b) analytic MACs of 10,000 configs with CostModel (target < 0.5 s on 2 CPU cores), from genomes
    and from SubnetConfig objects, plus throughput on 1,000,000 genomes;
(c) one forward+backward of the max subnet through the weight-shared supernet versus the same
    network as the extracted static module (batch 32, 32 px, CIFAR space), ratio from the same run.

    python benchmarks/bench_supernet.py [--json] [--extracts 50] [--steps 10] [--threads N]

Prints a table (or one JSON document with --json); record results in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ofa_edge.host import cpu_model
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.space import genome as G
from ofa_edge.supernet import Supernet


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_extract(space_name: str, n: int) -> dict:
    space = SearchSpace.get(space_name)
    net = Supernet(space, num_classes=space.default_num_classes).eval()
    rng = np.random.default_rng(0)
    cfgs = [space.sample(rng) for _ in range(n)]
    net.extract(cfgs[0])  # warm-up
    times = []
    for cfg in cfgs:
        t = time.perf_counter()
        net.extract(cfg)
        times.append(time.perf_counter() - t)
    return {
        "space": space_name,
        "subnets": n,
        "median_ms": 1e3 * statistics.median(times),
        "p90_ms": 1e3 * float(np.percentile(times, 90)),
        "max_subnet_ms": 1e3 * _median_s(lambda: net.extract(space.max()), 5),
    }


def bench_cost(space_name: str) -> dict:
    space = SearchSpace.get(space_name)
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    cost = CostModel(space, space.default_num_classes)
    build_s = time.perf_counter() - t
    g10k = G.sample(space, 10_000, rng)
    cfgs = G.decode(space, g10k)
    g1m = G.sample(space, 1_000_000, rng)
    macs_10k_s = _median_s(lambda: cost.macs(g10k), 21)
    from_cfgs_s = _median_s(lambda: cost.macs(cfgs), 5)
    macs_1m_s = _median_s(lambda: cost.macs(g1m), 5)
    return {
        "space": space_name,
        "costmodel_build_s": build_s,
        "macs_10k_genomes_s": macs_10k_s,
        "macs_10k_configs_s": from_cfgs_s,
        "macs_1m_genomes_s": macs_1m_s,
        "configs_per_s": 1_000_000 / macs_1m_s,
        "target_10k_s": 0.5,
        "met": from_cfgs_s < 0.5,
    }


def bench_train_step(steps: int, batch: int = 32) -> dict:
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    net = Supernet(space, num_classes=10).train()
    cfg = space.max()
    net.set_active(cfg)
    static = net.extract(cfg).train()
    x = torch.randn(batch, 3, cfg.resolution, cfg.resolution)
    y = torch.randint(0, 10, (batch,))

    def step(model: torch.nn.Module) -> None:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()

    for model in (net, static):  # warm-up
        step(model)
    t_super, t_static = [], []
    for _ in range(steps):  # interleaved, so both see the same machine load
        for model, acc in ((net, t_super), (static, t_static)):
            t = time.perf_counter()
            step(model)
            acc.append(time.perf_counter() - t)
    s, st = statistics.median(t_super), statistics.median(t_static)
    return {
        "batch": batch,
        "resolution": cfg.resolution,
        "steps": steps,
        "supernet_s": s,
        "static_s": st,
        "ratio": s / st,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("--extracts", type=int, default=50, help="random subnets to extract per space")
    ap.add_argument("--steps", type=int, default=10, help="timed forward+backward steps per model")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    result = {
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "load_avg_start": os.getloadavg(),
        },
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    spaces = ("mbv3-w1.0-cifar", "mbv3-w1.0-imagenet")
    log("cost model ...")
    result["cost"] = [bench_cost(n) for n in spaces]
    log("extraction ...")
    result["extract"] = [bench_extract(n, args.extracts) for n in spaces]
    log("forward+backward ...")
    result["train_step"] = bench_train_step(args.steps)
    result["machine"]["load_avg_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    m = result["machine"]
    print(f"{m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads), {result['date']}")
    print(f"load average start {m['load_avg_start'][0]:.1f}, end {m['load_avg_end'][0]:.1f}")
    for e in result["extract"]:
        print(
            f"extract {e['space']:20s} median {e['median_ms']:.1f} ms  p90 {e['p90_ms']:.1f} ms  max subnet {e['max_subnet_ms']:.1f} ms"
        )
    for c in result["cost"]:
        print(
            f"MACs {c['space']:20s} 10k genomes {1e3 * c['macs_10k_genomes_s']:.2f} ms, 10k configs "
            f"{1e3 * c['macs_10k_configs_s']:.1f} ms, 1M genomes {c['macs_1m_genomes_s']:.3f} s "
            f"({c['configs_per_s'] / 1e6:.2f}M configs/s), build {1e3 * c['costmodel_build_s']:.1f} ms, "
            f"target {'met' if c['met'] else 'MISSED'}"
        )
    s = result["train_step"]
    print(
        f"fwd+bwd max subnet, batch {s['batch']} @ {s['resolution']} px: supernet {s['supernet_s']:.3f} s, "
        f"static {s['static_s']:.3f} s, ratio {s['ratio']:.2f}"
    )


if __name__ == "__main__":
    main()
