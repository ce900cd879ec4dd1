"""A learned correction from LUT sums to end-to-end latency (``--calibrate N``).

Blocks timed alone miss what a whole network adds or saves: cold caches between layers,
the runtime's per-call and per-node overhead, fusions across block boundaries. The model is
linear in the LUT sum and the number of active blocks,

    e2e ≈ scale · lut + per_block · n_blocks + offset,

fitted by least squares on *relative* error over N random subnets timed end to end. It stays
free at prediction time: it folds into the table's per-block arrays (:func:`fold_correction`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.space.genome import DEPTH
from ofa_edge.space.search_space import SearchSpace

MIN_SAMPLES = 8


def active_block_count(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """Number of blocks each genome runs (the sum of its stage depths)."""
    return np.asarray(space.depths, dtype=np.float64)[genomes[:, DEPTH]].sum(axis=1)


def fit_correction(lut_ms: np.ndarray, n_blocks: np.ndarray, measured_ms: np.ndarray) -> dict[str, Any]:
    """Least-squares fit of ``measured ≈ scale·lut + per_block·n_blocks + offset`` in relative error."""
    lut, nb, m = (np.asarray(a, dtype=np.float64) for a in (lut_ms, n_blocks, measured_ms))
    if len(m) < MIN_SAMPLES:
        raise UserError(f"--calibrate needs at least {MIN_SAMPLES} subnets to fit a correction, got {len(m)}.")
    features = np.stack([lut, nb, np.ones_like(lut)], axis=1) / m[:, None]
    (scale, per_block, offset), *_ = np.linalg.lstsq(features, np.ones_like(m), rcond=None)
    fitted = scale * lut + per_block * nb + offset
    return {
        "kind": "linear-lut-blocks",
        "scale": float(scale),
        "per_block": float(per_block),
        "offset": float(offset),
        "fitted_on": len(m),
        "fit_mape_pct": float(100 * np.mean(np.abs(fitted - m) / m)),
    }


def fold_correction(
    correction: dict[str, Any], per_block: np.ndarray, fixed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fold the linear correction into the table's arrays, so the corrected prediction is the
    same single gather-and-sum as the LUT sum: each active block costs ``scale·t + per_block``
    and the fixed part ``scale·t + offset``. Corrections without ``per_block`` are affine maps."""
    scale = float(correction["scale"])
    return scale * per_block + float(correction.get("per_block", 0.0)), scale * fixed + float(correction["offset"])
