"""Probe subnets: min, mid, max and fixed random ones, the same in every run."""

from ofa_edge.space import SearchSpace
from ofa_edge.train.probes import RANDOM_PROBES, probe_configs

SPACE = SearchSpace.get("mbv3-w1.0-cifar")


def test_probes_are_min_mid_max_and_fixed_random_subnets() -> None:
    probes = probe_configs(SPACE)
    assert list(probes) == ["min", "mid", "max"] + [f"rand{i}" for i in range(RANDOM_PROBES)]
    assert probes["min"] == SPACE.min() and probes["max"] == SPACE.max()
    mid = probes["mid"]
    assert set(mid.depth) == {sorted(SPACE.depths)[len(SPACE.depths) // 2]}
    assert set(mid.expand) == {sorted(SPACE.expands)[len(SPACE.expands) // 2]}
    assert mid.resolution == sorted(SPACE.resolutions)[len(SPACE.resolutions) // 2]


def test_random_probes_are_the_same_in_every_run_and_differ_from_each_other() -> None:
    a, b = probe_configs(SPACE, n_random=3), probe_configs(SPACE, n_random=3)
    assert a == b
    assert len({a[f"rand{i}"] for i in range(3)}) == 3
