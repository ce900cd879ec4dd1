"""Genome encoding: round trips, vectorized sample/mutate/crossover, BlockSum and features."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ofa_edge.space import SearchSpace
from ofa_edge.space import genome as G

FAST = settings(max_examples=40, deadline=None)
SPACES = st.sampled_from(SearchSpace.names())
SEEDS = st.integers(0, 2**32 - 1)


def _valid(space: SearchSpace, genomes: np.ndarray) -> bool:
    return genomes.shape[1] == G.GENOME_LEN and bool((genomes < G.choices(space)).all())


@FAST
@given(SPACES, SEEDS, st.integers(1, 50))
def test_encode_decode_round_trip(name: str, seed: int, n: int) -> None:
    sp = SearchSpace.get(name)
    rng = np.random.default_rng(seed)
    cfgs = [sp.sample(rng) for _ in range(n)]
    g = G.encode(sp, cfgs)
    assert g.dtype == np.uint8 and g.shape == (n, G.GENOME_LEN)
    assert G.decode(sp, g) == cfgs
    assert np.array_equal(G.encode(sp, G.decode(sp, g)), g)


@FAST
@given(SPACES, SEEDS, st.floats(0.0, 1.0))
def test_mutate_and_crossover_stay_valid(name: str, seed: int, prob: float) -> None:
    sp = SearchSpace.get(name)
    rng = np.random.default_rng(seed)
    a, b = G.sample(sp, 64, rng), G.sample(sp, 64, rng)
    assert _valid(sp, a)
    m = G.mutate(sp, a, rng, prob)
    assert _valid(sp, m)
    c = G.crossover(a, b, rng)
    assert _valid(sp, c) and ((c == a) | (c == b)).all()
    G.decode(sp, np.concatenate([m, c]))  # every genome decodes into a validated config


def test_mutate_extremes() -> None:
    sp = SearchSpace.get("mbv3-w1.0-imagenet")
    rng = np.random.default_rng(0)
    a = G.sample(sp, 500, rng)
    assert np.array_equal(G.mutate(sp, a, rng, 0.0), a)
    changed = (G.mutate(sp, a, rng, 1.0) != a).mean()
    assert 0.4 < changed < 0.8  # every gene resampled; ~1/3 land on the same choice


def test_sample_covers_all_choices() -> None:
    sp = SearchSpace.get("mbv3-w1.0-imagenet")
    g = G.sample(sp, 2000, np.random.default_rng(1))
    for col, n in enumerate(G.choices(sp)):
        assert set(np.unique(g[:, col])) == set(range(n))


def test_encode_refuses_other_space() -> None:
    with pytest.raises(ValueError, match="mbv3-w1.0-imagenet"):
        G.encode(SearchSpace.get("mbv3-w1.0-cifar"), [SearchSpace.get("mbv3-w1.0-imagenet").max()])


@FAST
@given(SPACES, SEEDS)
def test_block_sum_equals_per_config_loop(name: str, seed: int) -> None:
    sp = SearchSpace.get(name)
    rng = np.random.default_rng(seed)
    per_block = rng.random((len(sp.resolutions), 20, 3, 3))
    fixed = rng.random(len(sp.resolutions))
    g = G.sample(sp, 30, rng)
    got = G.BlockSum(sp, per_block, fixed)(g)
    for row, cfg, value in zip(g, G.decode(sp, g), got, strict=True):
        want = fixed[row[0]] + sum(
            per_block[row[0], b, row[G.KERNEL][b], row[G.EXPAND][b]] for b in cfg.active_blocks()
        )
        assert value == pytest.approx(want, rel=1e-12)


def test_active_mask_and_one_hot() -> None:
    sp = SearchSpace.get("mbv3-w1.0-cifar")
    cfgs = [sp.min(), sp.max(), sp.sample(np.random.default_rng(3))]
    g = G.encode(sp, cfgs)
    mask = G.active_mask(sp, g)
    for row, cfg in zip(mask, cfgs, strict=True):
        assert list(np.flatnonzero(row)) == cfg.active_blocks()
    f = G.one_hot(sp, g)
    assert f.shape == (3, 20 * 6 + 3) and f.dtype == np.float32
    assert f[:, :120].sum(1).tolist() == [2 * len(c.active_blocks()) for c in cfgs]
    assert f[:, 120:].sum(1).tolist() == [1, 1, 1]


def test_one_hot_matches_an_explicit_encoding() -> None:
    sp = SearchSpace.get("mbv3-w1.0-imagenet")
    g = G.sample(sp, 200, np.random.default_rng(4))
    want = np.zeros((len(g), 20 * 6 + len(sp.resolutions)), dtype=np.float32)
    for n, cfg in enumerate(G.decode(sp, g)):
        for b in cfg.active_blocks():
            want[n, 6 * b + sp.kernels.index(cfg.kernel[b])] = 1
            want[n, 6 * b + 3 + sp.expands.index(cfg.expand[b])] = 1
        want[n, 120 + sp.resolutions.index(cfg.resolution)] = 1
    np.testing.assert_array_equal(G.one_hot(sp, g), want)
