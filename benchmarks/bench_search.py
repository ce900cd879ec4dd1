"""Search speed and quality: ofa-edge's vectorized evolution vs once-for-all's EvolutionFinder,
and evolution vs random search vs Optuna TPE at equal evaluations.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_search.py [--repeats 3] [--table ofa_edge/latency_tables/x86-cpu.json]

Setting: space mbv3-w1.0-imagenet (OFA's), 1000 classes. Latency: the given table, else an
ESTIMATED analytic table (MACs / 2 GMAC/s + 10 us per layer, tests/search/conftest.py).
Accuracy: the embedded pretrained supernet's predictor if its space matches, else an MLP of
ofa-edge's default size (3 x 128 on one-hot features) fitted to a documented analytic stand-in
for top-1 (a smooth function of MACs and depth plus noise) -- the search cost does not depend
on what it learned. The same search is timed again with an OFA-sized 3 x 400 MLP.
once-for-all's EvolutionFinder (PyPI ``ofa``) runs through its own interfaces: its arch
encoder and its own 3 x 400 torch AccuracyPredictor (random weights: its trained checkpoint is
a download, impossible offline), with an efficiency predictor that queries our table.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import pretrained_dir
from ofa_edge.search.algorithms import Evolution, OptunaSearch, RandomSearch
from ofa_edge.search.constraints import check_achievable
from ofa_edge.search.predictor import AccuracyPredictor
from ofa_edge.search.problem import Bound, SearchProblem
from ofa_edge.space import CostModel, SearchSpace, SubnetConfig
from ofa_edge.space.genome import sample

SPACE = "mbv3-w1.0-imagenet"
ROOT = Path(__file__).resolve().parents[1]


def analytic_table() -> LatencyTable:
    spec = importlib.util.spec_from_file_location("search_fixtures", ROOT / "tests" / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.estimated_table("x86-cpu (estimated)", SPACE, num_classes=1000)


def stand_in_predictor(space: SearchSpace, cost: CostModel, hidden: int = 128) -> tuple[AccuracyPredictor, str]:
    pre = pretrained_dir() / "supernet.predictor.safetensors"
    if pre.is_file() and hidden == 128:
        pred = AccuracyPredictor.load(pre)
        if pred.space.name == SPACE:
            return pred, f"embedded predictor {pre}"
    g = sample(space, 2000, np.random.default_rng(0))
    depth = g[:, 1:6].sum(1)
    top1 = 80 - 14 * np.exp(-cost.macs(g) / 2.5e8) + 0.3 * depth + np.random.default_rng(1).normal(0, 0.3, len(g))
    pred = AccuracyPredictor.fit(space, g, top1, hidden=hidden, epochs=60, seed=0)
    r = pred.report
    return pred, f"stand-in 3 x {hidden} MLP fitted to an analytic top-1 (RMSE {r.rmse:.2f}, tau {r.kendall_tau:.2f})"


def run_ofa(table: LatencyTable, space: SearchSpace, budget_ms: float, seed: int) -> dict:
    import random

    import torch
    from ofa.nas.accuracy_predictor import AccuracyPredictor as OFAPredictor
    from ofa.nas.accuracy_predictor import MobileNetArchEncoder
    from ofa.nas.search_algorithm import EvolutionFinder

    class TableEfficiency:
        """OFA's efficiency-predictor interface over an ofa-edge latency table."""

        calls = 0

        def get_efficiency(self, arch: dict) -> float:
            TableEfficiency.calls += 1
            ofa_arch = {k: v for k, v in arch.items() if k != "image_size"} | {"r": arch["image_size"]}
            return float(table.predict([SubnetConfig.from_dict(ofa_arch, SPACE)])[0])

    random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)
    enc = MobileNetArchEncoder(
        image_size_list=list(space.resolutions),
        ks_list=list(space.kernels),
        expand_list=list(space.expands),
        depth_list=list(space.depths),
        n_stage=5,
    )
    acc = OFAPredictor(enc, hidden_size=400, n_layers=3, device="cpu")
    finder = EvolutionFinder(TableEfficiency(), acc, population_size=100, max_time_budget=500)
    t0 = time.perf_counter()
    with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):  # it prints progress on stdout
        _, best = finder.run_evolution_search(budget_ms, verbose=False)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "latency_calls": TableEfficiency.calls,
        "candidates_per_s": TableEfficiency.calls / seconds,
        "best_latency_ms": best[2],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--table")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--small-budget", type=int, default=500)
    ap.add_argument("--skip-ofa", action="store_true")
    args = ap.parse_args()
    space = SearchSpace.get(SPACE)
    cost = CostModel(space, 1000)
    table = LatencyTable.load(args.table) if args.table else analytic_table()
    pred, pred_note = stand_in_predictor(space, cost)
    lo, hi = table.predict([space.min(min(space.resolutions))])[0], table.predict([space.max()])[0]
    budget_ms = float(lo + 0.35 * (hi - lo))
    problem = SearchProblem(
        space,
        pred.predict,
        {"latency": functools.partial(table.predict, check=False)},  # as ofa-edge search builds it
        [Bound("latency", budget_ms, "budget")],
        resolutions=tuple(r for r in space.resolutions if r in table.resolutions),
    )
    check_achievable(problem)
    out: dict = {
        "machine": {
            "cpu": _cpu(),
            "cores": os.cpu_count(),
            "threads": os.environ.get("OMP_NUM_THREADS"),
            "load_avg_1m": os.getloadavg()[0],
            "python": platform.python_version(),
        },
        "table": table.provenance,
        "predictor": pred_note,
        "budget_ms": budget_ms,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }

    runs, out["ofa_edge_evolution"] = time_evolution(problem, args.repeats)
    pred400, out["predictor_3x400"] = stand_in_predictor(space, cost, hidden=400)
    _, out["ofa_edge_evolution_3x400"] = time_evolution(
        dataclasses.replace(problem, accuracy=pred400.predict), args.repeats
    )
    rnd = RandomSearch().search(problem, runs[0].evaluations, np.random.default_rng(0))
    out["random_equal_evals"] = {
        "evaluations": rnd.evaluations,
        "best_accuracy": rnd.best_accuracy,
        "seconds": rnd.seconds,
    }

    small = args.small_budget
    evo_s = Evolution(population=50)
    gens = (small - 50) // 50
    e_s = evo_s.search(problem, evo_s.budget_for(gens), np.random.default_rng(0))
    r_s = RandomSearch().search(problem, e_s.evaluations, np.random.default_rng(0))
    t_s = OptunaSearch("tpe").search(problem, e_s.evaluations, np.random.default_rng(0))
    out["equal_evals_small"] = {
        "evaluations": e_s.evaluations,
        "evolution": {
            "best_accuracy": e_s.best_accuracy,
            "seconds": e_s.seconds,
            "population": 50,
            "generations": gens,
        },
        "random": {"best_accuracy": r_s.best_accuracy, "seconds": r_s.seconds},
        "tpe": {"best_accuracy": t_s.best_accuracy, "seconds": t_s.seconds},
    }
    if not args.skip_ofa:
        ref = run_ofa(table, space, budget_ms, 0)
        med, med400 = out["ofa_edge_evolution"]["seconds_median"], out["ofa_edge_evolution_3x400"]["seconds_median"]
        out["ofa_EvolutionFinder"] = ref | {
            "speedup_vs_median": ref["seconds"] / med,
            "speedup_vs_median_3x400": ref["seconds"] / med400,
        }
    out["machine"]["load_avg_1m_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


def time_evolution(problem: SearchProblem, repeats: int) -> tuple[list, dict]:
    """``repeats`` seeded evolutionary searches (population 100, 500 generations), timed."""
    evo = Evolution(population=100)
    timed = _Timed(problem.accuracy)
    timed_problem = dataclasses.replace(problem, accuracy=timed)
    evo.search(timed_problem, evo.budget_for(10), np.random.default_rng(99))  # warm-up (imports, caches)
    runs, cpu, mlp = [], [], []
    for s in range(repeats):
        timed.seconds, c0 = 0.0, time.process_time()
        runs.append(evo.search(timed_problem, evo.budget_for(500), np.random.default_rng(s)))
        cpu.append(time.process_time() - c0)
        mlp.append(timed.seconds)
    secs = [r.seconds for r in runs]
    med = statistics.median(secs)
    return runs, {
        "population": 100,
        "generations": 500,
        "seconds": [round(x, 4) for x in secs],
        "seconds_median": med,
        "seconds_min": min(secs),
        "cpu_seconds_median": statistics.median(cpu),
        "predictor_seconds_median": statistics.median(mlp),
        "children": 100 + 500 * 100,
        "children_per_s": (100 + 500 * 100) / med,
        "evaluations": [r.evaluations for r in runs],
        "candidates_per_s": statistics.median(r.evaluations / r.seconds for r in runs),
        "accuracy_predictions": [r.extra["accuracy_predictions"] for r in runs],
        "best_accuracy": [round(r.best_accuracy, 3) for r in runs],
    }


class _Timed:
    """A metric that adds up the wall seconds spent in it."""

    def __init__(self, fn) -> None:
        self.fn, self.seconds = fn, 0.0

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        value = self.fn(genomes)
        self.seconds += time.perf_counter() - t0
        return value


def _cpu() -> str:
    try:
        return (
            subprocess.run(["lscpu"], capture_output=True, text=True, check=False)
            .stdout.split("Model name:")[1]
            .splitlines()[0]
            .strip()
        )
    except (OSError, IndexError):
        return platform.processor()


if __name__ == "__main__":
    main()
