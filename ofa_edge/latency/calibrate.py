"""A learned correction from LUT sums to end-to-end latency (``--calibrate N``).

Blocks timed alone miss what a whole network adds or saves: cold caches between layers,
the runtime's per-call and per-node overhead, fusions across block boundaries. The model is
linear in the LUT sum, the number of active blocks and the network's weights (millions of
parameters: a block timed alone finds its weights in cache, inside a whole network they have
been evicted by the others'),

    e2e ≈ scale · lut + per_block · n_blocks + per_mparam · params_M + offset,

fitted by least squares on *relative* error over N random subnets timed end to end. It stays
free at prediction time: blocks and parameters are sums over active blocks, so the whole
correction folds into the table's per-block arrays (:func:`fold_correction`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.host import CPU_FIELDS, host_info, now_utc
from ofa_edge.latency.devices import load_device, profile_command
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.cost import CostModel
from ofa_edge.space.genome import DEPTH, encode
from ofa_edge.space.search_space import SearchSpace

if TYPE_CHECKING:  # the table module imports this one
    from ofa_edge.latency.table import LatencyTable

MIN_SAMPLES = 8
CALIBRATE_SEED_OFFSET = 1_000_003  # calibration subnets are drawn apart from validation ones (seed + this)


def active_block_count(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """Number of blocks each genome runs (the sum of its stage depths)."""
    return np.asarray(space.depths, dtype=np.float64)[genomes[:, DEPTH]].sum(axis=1)


def fit_correction(
    lut_ms: np.ndarray, n_blocks: np.ndarray, params_m: np.ndarray, measured_ms: np.ndarray
) -> dict[str, Any]:
    """Least-squares fit of ``measured ≈ scale·lut + per_block·n_blocks + per_mparam·params_M + offset``
    in relative error."""
    lut, nb, pm, m = (np.asarray(a, dtype=np.float64) for a in (lut_ms, n_blocks, params_m, measured_ms))
    if len(m) < MIN_SAMPLES:
        raise UserError(f"--calibrate needs at least {MIN_SAMPLES} subnets to fit a correction, got {len(m)}.")
    features = np.stack([lut, nb, pm, np.ones_like(lut)], axis=1)
    (scale, per_block, per_mparam, offset), *_ = np.linalg.lstsq(features / m[:, None], np.ones_like(m), rcond=None)
    fitted = features @ np.array([scale, per_block, per_mparam, offset])
    return {
        "kind": "linear-lut-blocks-params",
        "scale": float(scale),
        "per_block": float(per_block),
        "per_mparam": float(per_mparam),
        "offset": float(offset),
        "fitted_on": len(m),
        "fit_mape_pct": float(100 * np.mean(np.abs(fitted - m) / m)),
    }


def fold_correction(
    correction: dict[str, Any],
    per_block: np.ndarray,
    fixed: np.ndarray,
    block_params: np.ndarray,
    fixed_params: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold the linear correction into the table's arrays, so the corrected prediction is the
    same single gather-and-sum as the LUT sum: each active block costs
    ``scale·t + per_block + per_mparam·params_M`` and the fixed part ``scale·t + per_mparam·params_M
    + offset``. Older corrections lack ``per_mparam`` (or ``per_block``: affine maps); those terms are 0."""
    scale, per_mparam = float(correction["scale"]), float(correction.get("per_mparam", 0.0))
    blocks = scale * per_block + float(correction.get("per_block", 0.0)) + per_mparam * block_params / 1e6
    return blocks, scale * fixed + float(correction["offset"]) + per_mparam * fixed_params / 1e6


def calibrate_table(table: LatencyTable, configs: list[SubnetConfig], measured_ms: np.ndarray) -> dict[str, Any]:
    """:func:`fit_correction` of ``table`` on ``configs`` timed end to end on this machine; sets
    ``table.correction``, with the date and this CPU (``fitted_here``), and returns it."""
    sp = table.search_space
    g = encode(sp, configs)
    params_m = CostModel(sp, table.num_classes).params(g) / 1e6
    here = host_info()
    table.correction = fit_correction(table.predict_lut(g), active_block_count(sp, g), params_m, measured_ms) | {
        "fitted_here": {"date": now_utc(), **{f: here[f] for f in CPU_FIELDS}}
    }
    return table.correction


LOOSE_FIT_PCT = 10  # a correction missing its own calibration subnets by more: their timings scattered


def loose_fit_warning(correction: dict[str, Any] | None, store: Path) -> str | None:
    """The warning for a correction that misses its own calibration subnets by more than
    :data:`LOOSE_FIT_PCT` on average (their end-to-end timings, kept in ``store``, scattered); else ``None``."""
    fit = correction or {}
    if fit.get("fit_mape_pct", 0) <= LOOSE_FIT_PCT:
        return None
    return (
        f"the correction misses its own {fit['fitted_on']} subnets by {fit['fit_mape_pct']:.1f}% on average "
        f"(above {LOOSE_FIT_PCT}%): their timings scatter (load? see `uptime`), so its predictions will too. Fit it "
        f"again when the machine is quiet: delete {store} (the stored timings) and run the same command."
    )


def uncorrected_warning(device: str, table: LatencyTable, table_path: str | Path) -> str | None:
    """The warning for a measured ``table`` of ``device`` without an end-to-end correction (its predictions
    are sums of blocks timed alone); ``None`` for a corrected or an estimated one."""
    from ofa_edge.latency.backends import why_not_here  # it imports the table module, which imports this one

    if table.provenance.get("kind") == "estimated" or table.correction:
        return None
    try:
        dev = load_device(device)
    except UserError:  # a table of a device this machine has no file for
        command, remote = f"ofa-edge profile --device {device} -o {table_path}", True
    else:
        command = profile_command(dev, table_path, table.space, table.resolutions)
        remote = why_not_here(dev) is not None
    where = " --ssh user@host` (or run it on the device; " if remote else "` ("
    return (
        f"the {device} table ({table_path}) has no end-to-end correction: its predictions are sums of blocks timed "
        "alone, which miss the whole network's per-layer overhead and cache effects (on ONNX Runtime CPU they ran "
        "4-30% under real latency, on an H100 9% over: `ofa-edge docs latency`), so a subnet picked near a budget "
        f"can miss it. Fit one on 100 subnets timed end to end: `{command} --calibrate 100{where}minutes; the table is kept)."
    )
