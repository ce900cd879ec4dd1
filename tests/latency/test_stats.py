"""Outlier-robust summaries and prediction metrics."""

from __future__ import annotations

import numpy as np

from ofa_edge.latency.calibrate import fit_correction
from ofa_edge.latency.stats import prediction_metrics, robust_stats


def test_robust_stats_ignore_preemption_outliers():
    rng = np.random.default_rng(0)
    samples = np.concatenate([rng.normal(1.0, 0.01, 95), [9.0, 12.0, 30.0, 15.0, 8.0]])
    s = robust_stats(samples)
    assert abs(s["median"] - 1.0) < 0.01 and abs(s["mean"] - 1.0) < 0.01
    assert s["count"] == 95 and s["std"] < 0.05


def test_prediction_metrics():
    m = prediction_metrics(np.array([1.0, 2.2, 2.7, 4.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    assert m["within_10pct"] == 1.0  # 10% error exactly counts as within
    assert np.isclose(m["mape_pct"], 100 * (0 + 0.1 + 0.1 + 0) / 4)
    assert m["kendall_tau"] == 1.0


def test_correction_recovers_a_linear_relation():
    rng = np.random.default_rng(0)
    lut, blocks, params = rng.uniform(1, 5, 50), rng.integers(10, 21, 50).astype(float), rng.uniform(2, 6.5, 50)
    measured = 1.3 * lut + 0.05 * blocks + 0.11 * params + 0.2
    c = fit_correction(lut, blocks, params, measured)
    assert np.allclose([c["scale"], c["per_block"], c["per_mparam"], c["offset"]], [1.3, 0.05, 0.11, 0.2], atol=1e-6)
    assert c["fit_mape_pct"] < 1e-6
