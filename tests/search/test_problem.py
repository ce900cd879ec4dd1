import numpy as np
import pytest

from ofa_edge.search.problem import Bound, SearchProblem, exact_minimum
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.space.genome import sample

SPACE = "mbv3-w1.0-cifar"


def test_exact_minimum_matches_smallest_config_for_monotone_costs():
    sp = SearchSpace.get(SPACE)
    cost = CostModel(sp, 10)
    value, genome = exact_minimum(sp, cost.macs, sp.resolutions)
    assert value == cost.macs([sp.min()])[0]
    assert cost.macs(genome[None])[0] == value


def test_exact_minimum_beats_every_sample_on_a_non_monotone_table(make_table):
    """Scramble a table so that bigger blocks are sometimes faster: the minimum is then not the
    smallest config, and must still be <= every random subnet and equal to its genome's value."""
    sp = SearchSpace.get(SPACE)
    table = make_table("x")
    rng = np.random.default_rng(0)
    for e in table.entries.values():
        e["median"] = float(rng.uniform(0.01, 1.0))
    value, genome = exact_minimum(sp, table.predict, sp.resolutions)
    assert table.predict(genome[None])[0] == pytest.approx(value)
    samples = table.predict(sample(sp, 20000, rng))
    assert value <= samples.min()
    assert value < table.predict([sp.min()])[0]


def test_violation_and_resolution_restriction():
    sp = SearchSpace.get(SPACE)
    cost = CostModel(sp, 10)
    prob = SearchProblem(sp, cost.macs, {"macs": cost.macs}, [Bound("macs", 50e6, "50M")], resolutions=(28,))
    g = prob.sample(500, np.random.default_rng(1))
    assert set(np.asarray(sp.resolutions)[g[:, 0]]) == {28}
    v = prob.violation(g)
    np.testing.assert_allclose(v, np.maximum(cost.macs(g) / 50e6 - 1, 0))
    assert prob.feasible(g).tolist() == (cost.macs(g) <= 50e6).tolist()
