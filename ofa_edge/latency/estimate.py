"""Latency tables for devices that cannot be reached, estimated from datasheet figures.

Each key is split into its layers (pointwise/dense convs, depthwise convs, elementwise and
SE work); a layer costs ``max(FLOPs / (peak · η_kind), bytes / bandwidth) + overhead``
(a roofline with per-kind efficiency η and a per-layer launch cost). The efficiencies and
overhead are fitted on a table measured on a machine we have (this CPU), and that fit's
error is measured there first (in sample, held-out resolution, end to end) and recorded
in the estimated table's provenance. Estimated tables say ``kind: estimated``;
:func:`~ofa_edge.latency.table.estimated_warning` is what search and export print before relying on one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.host import now_utc
from ofa_edge.latency.blocks import parse_block_key, parse_fixed_key
from ofa_edge.latency.devices import LOCAL_DEVICE, Device, find_table_path, load_device
from ofa_edge.latency.e2e import validation_path
from ofa_edge.latency.keys import required_keys
from ofa_edge.latency.stats import prediction_metrics
from ofa_edge.latency.table import LatencyTable, lock_table
from ofa_edge.latency.validate import read_validation
from ofa_edge.space.search_space import SearchSpace, conv_out, head_layer_macs, stem_layer_macs

KINDS = ("dense", "depthwise", "elementwise")
BYTES = {"fp32": 4, "fp16": 2, "int8": 1}
PRIOR_EFFICIENCY = 0.3  # start of the fit; what an efficiency stays at when the reference cannot tell it
# An efficiency is fitted only if, on some reference layer of its kind, compute binds and is at least this
# share of the layer's time; below it every such layer is memory- or overhead-bound and the fit cannot move it.
IDENTIFIABLE_SHARE = 0.05


def key_layers(key: str) -> list[tuple[str, float, float]]:
    """``(kind, MACs, elements moved)`` of each layer a key runs (batch 1)."""
    if key.startswith("mb-"):
        s = parse_block_key(key)
        a_in, a_mid, a_mo, a_out = (
            s.in_hw**2 * s.in_ch,
            s.in_hw**2 * s.mid_ch,
            s.out_hw**2 * s.mid_ch,
            s.out_hw**2 * s.out_ch,
        )
        macs = s.layer_macs()
        layers = [
            ("dense", macs["expand"], a_in + a_mid + s.in_ch * s.mid_ch),
            ("depthwise", macs["dw"], a_mid + a_mo + s.mid_ch * s.kernel**2),
        ]
        # SE (pool, two 1x1 convs on a vector, scale) as one elementwise layer: split into its four kernels, each
        # with its own overhead, the fit is worse (per-key MAPE 8.4 -> 20.8 % on the measured h100 table, 9.1 -> 9.6 %
        # on x86-cpu; docs/benchmarks.md).
        if s.se:
            se = macs["se.reduce"] + macs["se.expand"]
            layers.append(("elementwise", se, 3 * a_mo + 2 * s.mid_ch * s.se_ch))
        layers.append(("dense", macs["proj"], a_mo + a_out * (2 if s.residual else 1) + s.mid_ch * s.out_ch))
        return layers
    kind, v = parse_fixed_key(key)
    if kind == "stem":
        r, c, st = v
        hw = conv_out(r, st) ** 2
        macs = stem_layer_macs(r, c, st)
        return [
            ("dense", macs["conv"], 3 * r * r + hw * c + 27 * c),
            ("depthwise", macs["dw"], 2 * hw * c + 9 * c),
            ("dense", macs["proj"], 3 * hw * c + c * c),
        ]
    if kind == "head":
        side, cin, mid, cout = v
        hw = side * side
        macs = head_layer_macs(side, cin, mid, cout)
        return [
            ("dense", macs["expand"], hw * (cin + mid) + cin * mid),
            ("elementwise", hw * mid, hw * mid + mid),  # the pool
            ("dense", macs["mix"], mid + cout + mid * cout),
        ]
    cin, n = v  # classifier
    return [("dense", cin * n, cin + n + cin * n)]


def _layer_arrays(keys: list[str], bytes_per: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flattened layers: owner key index, kind index, FLOPs, bytes."""
    owner, kind, flops, nbytes = [], [], [], []
    for i, key in enumerate(keys):
        for k, macs, elems in key_layers(key):
            owner.append(i)
            kind.append(KINDS.index(k))
            flops.append(2.0 * macs)
            nbytes.append(float(elems) * bytes_per)
    return np.array(owner), np.array(kind), np.array(flops), np.array(nbytes)


def roofline_ms(
    keys: list[str], peak_flops: float, bandwidth: float, bytes_per: int, efficiency: np.ndarray, overhead_us: float
) -> np.ndarray:
    """Estimated latency (ms) of each key."""
    owner, kind, flops, nbytes = _layer_arrays(keys, bytes_per)
    per_layer = np.maximum(flops / (peak_flops * efficiency[kind]), nbytes / bandwidth) + overhead_us * 1e-6
    return 1e3 * np.bincount(owner, weights=per_layer, minlength=len(keys))


def roofline_share(
    keys: list[str], peak_flops: float, bandwidth: float, bytes_per: int, efficiency: np.ndarray, overhead_us: float
) -> dict[str, float]:
    """Per kind, the largest share of a layer's estimated time that is compute, where compute binds (the
    only place the efficiency acts); ~0 means every layer of that kind is bound by memory or by the
    fixed per-layer overhead, so a fit cannot tell its efficiency."""
    _, kind, flops, nbytes = _layer_arrays(keys, bytes_per)
    compute, memory = flops / (peak_flops * efficiency[kind]), nbytes / bandwidth
    share = np.where(compute >= memory, compute, 0.0) / (np.maximum(compute, memory) + overhead_us * 1e-6)
    return {k: float(share[kind == i].max(initial=0.0)) for i, k in enumerate(KINDS)}


def fit_model(
    reference: LatencyTable, datasheet_peak: float, datasheet_bw: float, bytes_per: int = 4
) -> dict[str, Any]:
    """Fit per-kind efficiencies and per-layer overhead to a measured table (log-error least squares)."""
    from scipy.optimize import least_squares

    keys = list(reference.entries)
    measured = np.array([reference.entries[k]["median"] for k in keys])

    def model(theta: np.ndarray, ks: list[str]) -> np.ndarray:
        return roofline_ms(ks, datasheet_peak, datasheet_bw, bytes_per, np.exp(theta[:3]), theta[3])

    def fit(ks: list[str], m: np.ndarray) -> np.ndarray:
        x0 = np.array([np.log(PRIOR_EFFICIENCY)] * 3 + [5.0])
        lo, hi = [np.log(1e-4)] * 3 + [0.0], [0.0] * 3 + [1e3]
        return least_squares(lambda t: np.log(model(t, ks)) - np.log(m), x0, bounds=(lo, hi)).x

    theta = fit(keys, measured)
    err = np.abs(model(theta, keys) - measured) / measured
    # Held out: fit without the largest resolution's keys, predict them.
    r_max = max(reference.resolutions)
    sp = SearchSpace.get(reference.space)
    held = set(required_keys(sp, [r_max], reference.num_classes)) - set(
        required_keys(sp, [r for r in reference.resolutions if r != r_max], reference.num_classes)
    )
    train = [k for k in keys if k not in held]
    test = [k for k in keys if k in held]
    held_err = None
    if train and test:
        m_tr = np.array([reference.entries[k]["median"] for k in train])
        m_te = np.array([reference.entries[k]["median"] for k in test])
        held_err = float(100 * np.mean(np.abs(model(fit(train, m_tr), test) - m_te) / m_te))
    share = roofline_share(keys, datasheet_peak, datasheet_bw, bytes_per, np.exp(theta[:3]), theta[3])
    return {
        "efficiency": {k: float(np.exp(v)) for k, v in zip(KINDS, theta[:3], strict=True)},
        # False: the reference's layers of that kind are all overhead-bound, so its efficiency is the prior.
        "efficiency_identified": {k: v >= IDENTIFIABLE_SHARE for k, v in share.items()},
        "reference_roofline_share": share,
        "layer_overhead_us": float(theta[3]),
        "reference_device": reference.device,
        "reference_date": reference.provenance.get("date"),
        "reference_key_mape_pct": float(100 * err.mean()),
        "reference_key_within_10pct": float(np.mean(err <= 0.10)),
        "reference_heldout_resolution": r_max,
        "reference_heldout_key_mape_pct": held_err,
    }


def estimate_table(
    device: Device, fit: dict[str, Any], space: str, resolutions: list[int], num_classes: int
) -> LatencyTable:
    """An estimated table for ``device`` from its datasheet and a model fitted on a measured table."""
    sp = SearchSpace.get(space)
    keys = required_keys(sp, resolutions, num_classes)
    eff = np.array([fit["efficiency"][k] for k in KINDS])
    overhead = device.layer_overhead_us if device.layer_overhead_us is not None else fit["layer_overhead_us"]
    ds = device.datasheet
    ms = roofline_ms(keys, ds.peak_flops, ds.memory_bandwidth, BYTES[device.precision], eff, overhead)
    entries = {
        k: {"count": 0.0, "mean": float(v), "std": 0.0, "median": float(v)} for k, v in zip(keys, ms, strict=True)
    }
    prov = {
        "device": device.name,
        "kind": "estimated",
        "backend": device.backend_name,
        "backend_version": None,
        "runtime": device.runtime,
        "provider": device.provider,
        "precision": device.precision,
        "threads": device.threads,
        "batch": device.batch,
        "date": now_utc(),
        "model": "roofline per layer: max(FLOPs/(peak*eff_kind), bytes/bandwidth) + overhead",
        "datasheet": {"peak_flops": ds.peak_flops, "memory_bandwidth": ds.memory_bandwidth, "source": ds.source},
        "layer_overhead_us": overhead,
        # "device file": the fit's errors below are of the model with the fitted overhead, not of this table.
        "layer_overhead_from": "fit" if device.layer_overhead_us is None else "device file",
        "fit": fit,
    }
    return LatencyTable(space, num_classes, sorted(resolutions), prov, entries, complete=True)


def reference_e2e_error(fit: dict[str, Any], ref_device: Device, ref: LatencyTable, ref_path: Path) -> dict[str, Any]:
    """End-to-end error of the model on the reference device, against its validation subnets
    (``reports/<table>.validation.json``); empty when that device was never validated."""
    try:
        rows = read_validation(ref_path)
    except ValueError as e:
        raise UserError(
            f"the validation report '{validation_path(ref_path)}' beside the reference table is unreadable ({e}); "
            f"re-validate the reference (`ofa-edge profile --device {ref_device.name} --validate N`) or move "
            "the report away."
        ) from None
    if rows is None:
        return {"reference_e2e_mape_pct": None}
    configs, measured = rows.configs, rows.measured_ms
    # The model as fitted there: the fitted per-layer overhead, not the device file's figure for estimates.
    fitted = dataclasses.replace(ref_device, layer_overhead_us=None)
    estimated = estimate_table(fitted, fit, ref.space, ref.resolutions, ref.num_classes)
    m = prediction_metrics(estimated.predict(configs), measured)
    out = {
        "reference_e2e_n": m["n"],
        "reference_e2e_mape_pct": m["mape_pct"],
        "reference_e2e_within_10pct": m["within_10pct"],
        "reference_e2e_kendall_tau": m["kendall_tau"],
    }
    if ref.correction:  # the block model alone, without the LUT's own end-to-end gap
        estimated.correction = ref.correction
        mc = prediction_metrics(estimated.predict(configs), measured)
        out["reference_e2e_mape_pct_with_reference_correction"] = mc["mape_pct"]
        out["reference_e2e_within_10pct_with_reference_correction"] = mc["within_10pct"]
    return out


def default_reference(device: Device) -> str:
    """The measured table an estimate is fitted on by default: one timed the same kind of way
    (a GPU's for GPU runtimes, this CPU's otherwise)."""
    return "h100" if device.runtime in ("torch", "tensorrt") else LOCAL_DEVICE


def estimate_device_table(
    device: Device,
    space: str,
    resolutions: list[int],
    num_classes: int,
    path: Path,
    reference: str | Path,
    force: bool = False,
    note: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Fit the roofline model on a measured ``reference`` table (a device name or a table path), write
    ``device``'s estimated table to ``path`` and return its summary. A measured table at ``path`` is
    replaced only with ``force``."""
    with lock_table(path):  # a profile writing this table meanwhile would be overwritten
        if path.exists() and not force and not LatencyTable.load(path, require_complete=False).estimated:
            raise UserError(
                f"'{path}' holds a measured table; pass --force to replace it with an estimate, or --output elsewhere."
            )
        reference = str(reference)
        ref_path = Path(reference) if Path(reference).suffix else find_table_path(load_device(reference), space)
        if not ref_path.exists():
            by_name = (
                ""
                if Path(reference).suffix
                else f", or measure it: `ofa-edge profile --device {reference} --space {space}`"
            )
            raise UserError(
                f"the estimate is fitted on a measured --reference table, and '{ref_path}' (the {space} table of "
                f"--reference {reference}) does not exist. Pass --reference PATH to a measured table of space {space}"
                f"{by_name}."
            )
        ref = LatencyTable.load(ref_path)
        if ref.estimated:
            raise UserError(
                f"--reference '{ref_path}' is itself estimated; the model must be fitted on a measured table."
            )
        ref_dev = load_device(ref.device)
        note(f"fitting the roofline model on measured table {ref_path} ({ref.device})")
        fit = fit_model(ref, ref_dev.datasheet.peak_flops, ref_dev.datasheet.memory_bandwidth, BYTES[ref_dev.precision])
        fit.update(reference_e2e_error(fit, ref_dev, ref, ref_path))
        table = estimate_table(device, fit, space, resolutions, num_classes)
        table.save(path)
        return {
            "table": str(path),
            "device": device.name,
            "kind": "estimated",
            "complete": True,
            "entries": len(table.entries),
            "layer_overhead_us": table.provenance["layer_overhead_us"],
            "layer_overhead_from": table.provenance["layer_overhead_from"],
            "fit": fit,
        }
