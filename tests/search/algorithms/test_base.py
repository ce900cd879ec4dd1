"""``SearchResult``: the distinct feasible candidates the report and refinement read."""

from __future__ import annotations

import numpy as np

from ofa_edge.search.algorithms.base import SearchResult
from ofa_edge.search.problem import network_keys
from ofa_edge.space import SearchSpace
from ofa_edge.space.genome import KERNEL, decode, sample


def test_distinct_feasible_keeps_one_per_network_most_accurate_first():
    space = SearchSpace.get("mbv3-w1.0-cifar")
    g = sample(space, 6, np.random.default_rng(0))
    twin = g[1].copy()
    cfg = decode(space, g[1:2])[0]
    inactive = next(b for b in range(20) if b not in cfg.active_blocks())
    twin[KERNEL.start + inactive] = (twin[KERNEL.start + inactive] + 1) % len(space.kernels)  # same network
    genomes = np.concatenate([g, twin[None, :]])
    accuracy = np.array([70.0, 75.0, 80.0, 60.0, 90.0, 65.0, 75.0])
    feasible = np.array([True, True, True, True, False, True, True])
    result = SearchResult("test", genomes, accuracy, feasible, len(genomes), 0.0)
    idx = result.distinct_feasible(space)
    assert idx.tolist() == [2, 1, 0, 5, 3]  # 4 is infeasible; 6 is 1's network (tie: the first is kept)
    assert len(np.unique(network_keys(space, genomes[idx]))) == len(idx)
