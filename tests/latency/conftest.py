"""Fixtures for latency tests: a small complete synthetic table (for format logic only)."""

from __future__ import annotations

import numpy as np
import pytest

from ofa_edge.latency.keys import required_keys
from ofa_edge.latency.table import LatencyTable
from ofa_edge.space import SearchSpace


@pytest.fixture()
def small_table() -> LatencyTable:
    """A complete table over the cifar space at 24 px with made-up entries (format tests only)."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    keys = required_keys(space, [24], 10)
    vals = np.random.default_rng(1).uniform(0.01, 0.5, len(keys))
    entries = {
        k: {"count": 5.0, "mean": float(v), "std": 0.001, "median": float(v)} for k, v in zip(keys, vals, strict=True)
    }
    prov = {"device": "x86-cpu", "kind": "measured", "backend": "onnxruntime-cpu", "date": "2026-11-22T00:00:00+00:00"}
    return LatencyTable(space.name, 10, [24], prov, entries, complete=True)
