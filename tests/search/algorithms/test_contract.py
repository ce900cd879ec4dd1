"""Contract every search algorithm must meet: each returned subnet meets every bound under the
predictors (checked independently of the algorithm's own bookkeeping), and seeds are honoured."""

from __future__ import annotations

import numpy as np
import pytest

from ofa_edge.search.algorithms import Evolution, OptunaSearch, RandomSearch
from ofa_edge.search.constraints import check_achievable
from ofa_edge.search.problem import Bound, SearchProblem
from ofa_edge.space import CostModel, SearchSpace

SPACE = "mbv3-w1.0-cifar"

# (factory, budget, number of random budgets tried)
ALGOS = {
    "evolution": (lambda: Evolution(population=24), Evolution(population=24).budget_for(8), 12),
    "random": (lambda: RandomSearch(chunk=512), 1500, 12),
    "tpe": (lambda: OptunaSearch("tpe"), 25, 3),
    "nsga2": (lambda: OptunaSearch("nsga2"), 25, 3),
}


@pytest.fixture(scope="module")
def setting(make_table):
    estimated_table = make_table  # the analytic estimated tables (see tests/search/conftest.py)
    sp = SearchSpace.get(SPACE)
    cost = CostModel(sp, 10)
    fast = estimated_table("fast")
    slow = estimated_table("slow", gmacs_per_s=0.5, overhead_ms=0.05, resolutions=(24, 28))
    # A fixed, non-trivial "accuracy": favours large expand ratios early and small kernels late.
    w = np.random.default_rng(7).normal(size=46)
    return sp, cost, fast, slow, lambda g: g.astype(np.float64) @ w


def _problem(setting, rng):
    sp, cost, fast, slow, acc = setting
    metrics = {"latency:fast": fast.predict, "latency:slow": slow.predict, "macs": cost.macs, "params": cost.params}
    lo_f, hi_f = fast.predict([sp.min(24)])[0], fast.predict([sp.max()])[0]
    lo_s, hi_s = slow.predict([sp.min(24)])[0], slow.predict([sp.max(28)])[0]
    bounds = [
        Bound("latency:fast", lo_f + rng.uniform(0.02, 0.8) * (hi_f - lo_f), "fast"),
        Bound("latency:slow", lo_s + rng.uniform(0.05, 1.0) * (hi_s - lo_s), "slow"),
    ]
    if rng.random() < 0.5:
        lo, hi = cost.params([sp.min()])[0], cost.params([sp.max()])[0]
        bounds.append(Bound("params", lo + rng.uniform(0.1, 0.9) * (hi - lo), "params"))
    if rng.random() < 0.5:
        lo, hi = cost.macs([sp.min()])[0], cost.macs([sp.max()])[0]
        bounds.append(Bound("macs", lo + rng.uniform(0.1, 0.9) * (hi - lo), "macs"))
    prob = SearchProblem(sp, acc, metrics, bounds, resolutions=(24, 28))
    check_achievable(prob)
    return prob


def _independently_feasible(setting, prob, genomes):
    _, cost, fast, slow, _ = setting
    value = {
        "latency:fast": fast.predict(genomes),
        "latency:slow": slow.predict(genomes),
        "macs": cost.macs(genomes),
        "params": cost.params(genomes),
    }
    return np.all([value[b.metric] <= b.limit for b in prob.bounds], axis=0)


@pytest.mark.parametrize("name", list(ALGOS))
def test_every_returned_subnet_meets_every_bound(setting, name):
    factory, budget, n_budgets = ALGOS[name]
    rng = np.random.default_rng(123)
    found = 0
    for i in range(n_budgets):
        prob = _problem(setting, rng)
        result = factory().search(prob, budget, np.random.default_rng(i))
        assert result.evaluations >= min(budget, 1)
        flagged = result.genomes[result.feasible]
        assert _independently_feasible(setting, prob, flagged).all()
        res = np.asarray(prob.space.resolutions)[result.genomes[:, 0]]
        if name in ("evolution", "random"):
            assert set(res) <= {24, 28}
        best = result.best_index()
        if best is not None:
            found += 1
            assert _independently_feasible(setting, prob, result.genomes[[best]]).all()
            assert result.accuracy[best] == np.nanmax(np.where(result.feasible, result.accuracy, np.nan))
    assert found >= 1  # every algorithm finds a feasible subnet under some of the budgets
    if name == "evolution":
        assert found == n_budgets  # evolution repairs towards the anchor: it always finds one


@pytest.mark.parametrize("name", list(ALGOS))
def test_same_seed_same_result(setting, name):
    factory, budget, _ = ALGOS[name]
    prob = _problem(setting, np.random.default_rng(5))
    a = factory().search(prob, budget, np.random.default_rng(42))
    b = factory().search(prob, budget, np.random.default_rng(42))
    np.testing.assert_array_equal(a.genomes, b.genomes)
    assert a.best_index() == b.best_index()


def test_evolution_beats_random_at_equal_evaluations(setting):
    prob = _problem(setting, np.random.default_rng(9))
    evo = Evolution(population=50).search(prob, Evolution(population=50).budget_for(30), np.random.default_rng(0))
    rnd = RandomSearch().search(prob, evo.evaluations, np.random.default_rng(0))
    assert evo.best_accuracy > rnd.best_accuracy


def test_a_resumed_study_is_scored_with_this_runs_tables(setting, tmp_path):
    """Trials a shared study kept from an earlier run (or another worker) are scored again with
    this run's predictors: a re-profiled, slower table must not let its stale feasible trials win."""
    import dataclasses

    first = _problem(setting, np.random.default_rng(3))
    storage = str(tmp_path / "study.journal")
    OptunaSearch("tpe", storage, "s").search(first, 30, np.random.default_rng(0))
    slower = dataclasses.replace(
        first,
        metrics={k: (lambda g, f=f: 1.5 * f(g)) if k.startswith("latency") else f for k, f in first.metrics.items()},
    )
    res = OptunaSearch("tpe", storage, "s").search(slower, 2, np.random.default_rng(1))
    assert len(res.genomes) == 32
    np.testing.assert_array_equal(res.feasible, slower.feasible(res.genomes))
    np.testing.assert_array_equal(res.accuracy, slower.accuracy(res.genomes))
    assert (first.feasible(res.genomes) != res.feasible).any()  # the stale verdicts differed
