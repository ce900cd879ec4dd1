"""Key enumeration covers every block any config can produce (property test)."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ofa_edge.latency.keys import fixed_keys, required_keys
from ofa_edge.latency.table import LatencyTable
from ofa_edge.space import SearchSpace
from ofa_edge.space.genome import GENOME_LEN, choices, decode

SPACES = ["mbv3-w1.0-cifar", "mbv3-w1.0-imagenet", "mbv3-w1.2-cifar"]


@functools.cache
def _required(name: str) -> frozenset[str]:
    space = SearchSpace.get(name)
    return frozenset(required_keys(space, space.resolutions, 10))


@functools.cache
def _synthetic_table() -> tuple[LatencyTable, dict[str, float]]:
    space = SearchSpace.get("mbv3-w1.0-cifar")
    keys = required_keys(space, space.resolutions, 10)
    values = dict(zip(keys, np.random.default_rng(0).uniform(0.01, 1.0, len(keys)), strict=True))
    entries = {k: {"count": 1.0, "mean": v, "std": 0.0, "median": v} for k, v in values.items()}
    return LatencyTable(
        space.name, 10, list(space.resolutions), {"device": "synthetic"}, entries, complete=True
    ), values


def _genome(space: SearchSpace):
    return st.lists(st.integers(0, 10**6), min_size=GENOME_LEN, max_size=GENOME_LEN).map(
        lambda xs: (np.array(xs) % choices(space)).astype(np.uint8)
    )


def _keys_of(space: SearchSpace, cfg, num_classes: int) -> list[str]:
    blocks = [space.block_shape(cfg.resolution, b, cfg.kernel[b], cfg.expand[b]).key() for b in cfg.active_blocks()]
    return fixed_keys(space, cfg.resolution, num_classes) + blocks


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from(SPACES))
def test_no_config_ever_misses_a_required_key(data, name):
    space = SearchSpace.get(name)
    required = _required(name)
    cfg = decode(space, data.draw(_genome(space))[None, :])[0]
    assert set(_keys_of(space, cfg, 10)) <= required


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_prediction_sums_exactly_the_config_s_keys(data):
    space = SearchSpace.get("mbv3-w1.0-cifar")
    table, values = _synthetic_table()
    cfg = decode(space, data.draw(_genome(space))[None, :])[0]
    expected = sum(values[k] for k in _keys_of(space, cfg, 10))
    assert np.isclose(table.predict([cfg])[0], expected)
    assert np.isfinite(table.predict([cfg])).all()


def test_required_keys_are_distinct_and_cover_all_shapes():
    space = SearchSpace.get("mbv3-w1.0-cifar")
    keys = required_keys(space, [32], 10)
    assert len(keys) == len(set(keys))
    shapes = {s.key() for s in space.all_block_shapes()[32]}
    assert shapes | set(fixed_keys(space, 32, 10)) == set(keys)
