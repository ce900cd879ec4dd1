"""Circular data sieving: constant size, easiest out first, everyone comes back."""

from __future__ import annotations

import numpy as np
import pytest

from ofa_edge.errors import UserError
from ofa_edge.train.spfde.sieving import CircularSieve, SieveConfig, sieving_saved_flops


@pytest.mark.parametrize(("n", "frac"), [(1000, 0.2), (997, 0.35), (50, 0.5)])
def test_size_constant_and_every_removed_sample_returns(n, frac):
    sieve = CircularSieve(n, SieveConfig(frac), seed=0)
    size = len(sieve.active)
    rng = np.random.default_rng(1)
    removed_at = {int(i): 0 for i in sieve.queue}
    limit = sieve.cycles_to_return
    assert limit == int(np.ceil(round(frac * n) / max(1, round(frac * size))))
    for cycle in range(1, 4 * limit + 3):
        act = sieve.active_indices().numpy()
        for _ in range(2):  # two "epochs" of training-step predictions
            sieve.record(act, rng.random(len(act)) < 0.7)
        left = sieve.sieve()
        assert len(sieve.active) == size
        assert len(np.intersect1d(sieve.active, sieve.queue)) == 0
        assert len(np.union1d(sieve.active, sieve.queue)) == n
        active = set(sieve.active.tolist())
        for i, t in list(removed_at.items()):
            if i in active:
                assert cycle - t <= limit, f"example {i} out for {cycle - t} > {limit} sieves"
                del removed_at[i]
        for i in left.tolist():
            removed_at[i] = cycle
    assert all(cycle - t <= limit for t in removed_at.values())


def test_easiest_examples_leave_first():
    sieve = CircularSieve(100, SieveConfig(0.1), seed=0)
    act = sieve.active.copy()  # 90 examples, 9 move per sieve
    easy, forgetful, _unlearned = act[:9], act[9:50], act[50:]
    sieve.record(act, np.isin(act, np.concatenate([easy, forgetful])))
    sieve.record(forgetful, np.zeros(len(forgetful), bool))  # one forgetting event each
    sieve.record(easy, np.ones(len(easy), bool))
    left = sieve.sieve()
    assert sorted(left.tolist()) == sorted(easy.tolist())


def test_saved_flops_counts_held_out_share():
    assert sieving_saved_flops(8e12, active=800, removed=200) == pytest.approx(2e12)


@pytest.mark.parametrize(("n", "frac"), [(100, 0.0), (100, 1.0), (100, -0.2), (3, 0.1)])
def test_bad_fraction_is_user_error(n, frac):
    with pytest.raises(UserError, match="sieve-frac"):
        CircularSieve(n, SieveConfig(frac))
