"""The order of the search's final candidates: most accurate first, the cheaper of equals first."""

from __future__ import annotations

import numpy as np

DEFAULT_TIE = 0.05  # points of predicted top-1: far below any predictor's error, above float noise


def rank_candidates(accuracy: np.ndarray, cost: np.ndarray, tie: float = DEFAULT_TIE) -> np.ndarray:
    """Indices, best first. Candidates within ``tie`` of the best accuracy count as equally
    accurate and lead, cheapest (lowest ``cost``, e.g. latency on the first device) first; the rest
    follow by accuracy, equal accuracies cheapest first. ``tie=0`` ranks by accuracy alone."""
    best = accuracy.max()
    level = np.where(accuracy >= best - tie, best, accuracy)
    return np.lexsort((cost, -level))
