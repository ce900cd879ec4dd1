"""Evolution's own parts: the batched breeding keeps once-for-all's operator statistics, the
prediction cache returns exactly what the predictor says and predicts each network once."""

from __future__ import annotations

import numpy as np

from ofa_edge.search.algorithms.evolution import Breeding, Evolution, PredictionCache
from ofa_edge.search.predictor import AccuracyPredictor
from ofa_edge.search.problem import Bound, SearchProblem, network_keys
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.space.genome import sample

SPACE = "mbv3-w1.0-cifar"


def _problem(accuracy=None, resolutions=(24, 28, 32)) -> SearchProblem:
    sp = SearchSpace.get(SPACE)
    cost = CostModel(sp, 10)
    lo, hi = cost.macs([sp.min()])[0], cost.macs([sp.max()])[0]
    acc = accuracy or (lambda g: cost.macs(g) / 1e6)
    return SearchProblem(sp, acc, {"macs": cost.macs}, [Bound("macs", (lo + hi) / 2, "half")], resolutions)


def test_breeding_matches_the_operators_statistics():
    """Mutants: each gene resampled w.p. 0.1 (changes w.p. 0.1 * 2/3), the resolution w.p. 0.5
    among the allowed ones; crossovers: every gene from one of the two parents, ~half from each."""
    prob = _problem()
    evo = Evolution(population=100)
    breed = Breeding.of(evo, prob)
    assert breed.mutant.sum() == 50
    same = np.repeat(prob.sample(1, np.random.default_rng(0)), 2, axis=0)
    slots = np.arange(20000) % 100
    kids = breed(same, np.random.default_rng(1), slots)
    mut = breed.mutant[slots]
    changed = kids[mut] != same[0]
    assert abs(changed[:, 1:].mean() - 0.1 * 2 / 3) < 0.005
    assert abs(changed[:, 0].mean() - 0.5 * 2 / 3) < 0.02  # 3 allowed resolutions
    assert set(np.asarray(prob.space.resolutions)[kids[:, 0]]) <= {24, 28, 32}
    assert (kids[~mut] == same[0]).all()  # crossover of a parent with itself is that parent

    two = prob.sample(2, np.random.default_rng(2))
    kids = breed(two, np.random.default_rng(3), slots)[~mut]
    assert ((kids == two[0]) | (kids == two[1])).all()
    differ = two[0] != two[1]
    assert abs((kids[:, differ] == two[0][differ]).mean() - 0.5) < 0.01


def test_prediction_cache_equals_the_predictor_and_predicts_each_network_once():
    sp = SearchSpace.get(SPACE)
    g = sample(sp, 300, np.random.default_rng(0))
    pred = AccuracyPredictor.fit(sp, g, g[:, 1:6].sum(1).astype(float), epochs=2, seed=0)
    seen = []
    cache = PredictionCache(sp, lambda x: (seen.append(len(x)), pred.predict(x))[1])
    batch = np.concatenate([g[:50], g[:50], g[20:80]])
    batch[50:100, 9] = (batch[50:100, 9] + 1) % 3  # block 3: inactive (same network) unless stage depth is 4
    got = cache(batch)
    np.testing.assert_allclose(got, pred.predict(batch), rtol=0, atol=1e-5)
    distinct = len(np.unique(network_keys(sp, batch)))
    assert seen == [distinct]
    again = cache(batch[::-1])  # everything known now: no predictor call
    assert seen == [distinct] and cache.predicted == distinct
    np.testing.assert_array_equal(again, got[::-1])


def test_search_accuracies_are_the_predictors_and_bitwise_reproducible():
    sp = SearchSpace.get(SPACE)
    g = sample(sp, 300, np.random.default_rng(0))
    pred = AccuracyPredictor.fit(sp, g, CostModel(sp, 10).macs(g) / 1e7, epochs=2, seed=0)
    prob = _problem(pred.predict)
    evo = Evolution(population=40)
    a = evo.search(prob, evo.budget_for(15), np.random.default_rng(7))
    b = evo.search(prob, evo.budget_for(15), np.random.default_rng(7))
    np.testing.assert_array_equal(a.genomes, b.genomes)
    np.testing.assert_array_equal(a.accuracy, b.accuracy)
    np.testing.assert_allclose(a.accuracy, pred.predict(a.genomes), rtol=0, atol=1e-5)
    assert a.extra["accuracy_predictions"] == len(np.unique(network_keys(sp, a.genomes)))
    assert prob.feasible(a.genomes).all()
