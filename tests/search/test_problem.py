import numpy as np
import pytest

from ofa_edge.errors import UserError
from ofa_edge.search.problem import Bound, SearchProblem, exact_minimum, network_keys
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.space.genome import encode, sample

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


@pytest.mark.parametrize("resolutions", [(30,), (28, 30)])
def test_resolutions_outside_the_space_name_the_space_and_its_resolutions(resolutions):
    """None in the space (once an IndexError) or some outside (once dropped silently): a UserError either way."""
    sp = SearchSpace.get(SPACE)
    cost = CostModel(sp, 10)
    with pytest.raises(UserError, match=r"30 is not in space mbv3-w1\.0-cifar \(24, 28, 32\)"):
        SearchProblem(sp, cost.macs, {"macs": cost.macs}, [], resolutions=resolutions)


def test_genes_map_uniforms_to_allowed_choices():
    sp = SearchSpace.get(SPACE)
    cost = CostModel(sp, 10)
    prob = SearchProblem(sp, cost.macs, {"macs": cost.macs}, [], resolutions=(24, 32))
    u = np.array([[0.0] * 46, [0.999] * 46, [5.0] * 46, [0.5] * 46])
    g = prob.genes(u)
    assert np.asarray(sp.resolutions)[g[:, 0]].tolist() == [24, 32, 32, 32]
    assert g[:, 1:].tolist() == [[0] * 45, [2] * 45, [2] * 45, [1] * 45]


def test_network_keys_ignore_inactive_genes_only():
    sp = SearchSpace.get(SPACE)
    cfg = sp.min()  # depth 2 everywhere: blocks 2, 3 of each stage inactive
    g = np.repeat(encode(sp, [cfg]), 3, axis=0)
    g[1, 6 + 2] = 2  # kernel of an inactive block
    g[2, 6 + 1] = 2  # kernel of an active block
    k = network_keys(sp, g)
    assert k[0] == k[1] and k[0] != k[2]
