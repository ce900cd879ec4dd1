"""Outlier-robust summaries of timing samples and prediction-quality metrics."""

from __future__ import annotations

import numpy as np

MAD_CUTOFF = 5.0


def robust_stats(samples_ms: np.ndarray) -> dict[str, float]:
    """Median of all samples; count, mean and std after dropping samples beyond 5 scaled MADs
    of the median (preemptions, page faults)."""
    s = np.asarray(samples_ms, dtype=float)
    med = float(np.median(s))
    mad = 1.4826 * float(np.median(np.abs(s - med))) or 1e-12
    kept = s[np.abs(s - med) <= MAD_CUTOFF * mad]
    return {
        "count": float(kept.size),
        "mean": float(kept.mean()),
        "std": float(kept.std()),
        "median": med,
    }


def prediction_metrics(predicted: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    """Share within ±10 %, MAPE (%), mean signed error (%), Kendall τ, worst error (%)."""
    from scipy.stats import kendalltau  # 1-2 s to import: only where metrics are computed

    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    rel = (p - m) / m
    tau = kendalltau(p, m).statistic if len(p) > 1 else float("nan")
    return {
        "n": len(m),
        "within_10pct": float(np.mean(np.abs(rel) <= 0.10 + 1e-12)),
        "mape_pct": float(100 * np.mean(np.abs(rel))),
        "bias_pct": float(100 * np.mean(rel)),
        "max_abs_err_pct": float(100 * np.max(np.abs(rel))),
        "kendall_tau": float(tau),
    }
