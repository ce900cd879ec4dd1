"""Seeded, class-balanced subsets of a labelled dataset."""

from __future__ import annotations

import numpy as np


def balanced_subset(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Sorted indices of ``limit`` samples, as even across classes as the data allows.

    The samples are shuffled (seeded), then taken round by round: every class's first sample in
    the shuffled order, then every class's second, and so on; class counts differ by at most one
    unless a class runs out. ``limit`` at or above ``len(labels)`` takes everything.
    """
    n = len(labels)
    if limit >= n:
        return np.arange(n)
    perm = np.random.default_rng(seed).permutation(n)
    shuffled = np.asarray(labels)[perm]
    rank = np.empty(n, dtype=np.int64)  # position of each shuffled sample within its class
    for c in np.unique(shuffled):
        where = np.flatnonzero(shuffled == c)
        rank[where] = np.arange(len(where))
    return np.sort(perm[np.argsort(rank, kind="stable")[:limit]])


def unfilled_limit(option: str, asked: int | None, have: int, split: str) -> str | None:
    """The note for an ``option`` that asks for more images of ``split`` than the data holds (all are used
    then); ``None`` when it asks for no more."""
    if asked is None or asked <= have:
        return None
    return f"{option} {asked:,} is more than the {have:,} {split} images: all {have:,} are used"


def subset_index(labels: np.ndarray, limit: int, seed: int, balanced: bool) -> np.ndarray:
    """Sorted indices of a seeded subset of ``limit`` samples: class-balanced
    (:func:`balanced_subset`) or a uniform random draw."""
    if balanced:
        return balanced_subset(labels, limit, seed)
    n = len(labels)
    if limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])
