"""Predicted latency of a pruned (slim) OFA subnet on any device with a latency table.

No table entry holds pruned channel widths, so each part of the slim network (stem, every
active block, head, classifier) starts from the table entry of the same part at its unpruned
widths and is scaled by a per-layer model of the device: the roofline of
:mod:`ofa_edge.latency.estimate` (``max(FLOPs / (peak·η_kind), bytes / bandwidth) + overhead``
per layer). For an estimated table that is the very model which wrote the table; for a
measured table its efficiencies and overhead are fitted on the table's own entries with the
device's datasheet. A part keeps its measured latency times ``model(slim) / model(unpruned)``,
and the change of the table's LUT sum passes through the table's end-to-end correction, so a
network with nothing pruned gets exactly the table's prediction.

Approximation: the SE bottleneck width is modelled as ``mid/4`` (the key's convention), not
the pruned SE width; the SE layers are a few µs of a block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.latency.devices import load_device
from ofa_edge.latency.estimate import BYTES, KINDS, fit_model, roofline_ms
from ofa_edge.latency.keys import fixed_keys
from ofa_edge.latency.table import LatencyTable
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.search_space import BlockShape
from ofa_edge.supernet.layers import MBConv, SubnetModel


@dataclass(frozen=True)
class WidthModel:
    """The per-layer roofline that scales a table entry to other channel widths."""

    peak_flops: float
    bandwidth: float
    bytes_per: int
    efficiency: tuple[float, float, float]  # dense, depthwise, elementwise
    overhead_us: float
    source: str

    def ms(self, keys: list[str]) -> np.ndarray:
        """Modelled latency (ms) of each key."""
        eff = np.asarray(self.efficiency)
        return roofline_ms(keys, self.peak_flops, self.bandwidth, self.bytes_per, eff, self.overhead_us)


def width_model(table: LatencyTable) -> WidthModel:
    """The roofline of ``table``'s device: the estimator's own for an estimated table, else
    fitted on the table's entries with the datasheet of ``devices/<device>.yaml``."""
    prov = table.provenance
    if table.estimated:
        ds, fit = prov["datasheet"], prov["fit"]
        return WidthModel(
            float(ds["peak_flops"]),
            float(ds["memory_bandwidth"]),
            BYTES[prov.get("precision", "fp32")],
            tuple(float(fit["efficiency"][k]) for k in KINDS),
            float(prov["layer_overhead_us"]),
            "roofline of the estimated table",
        )
    try:
        dev = load_device(table.device)
    except UserError as e:
        raise UserError(
            f"cannot scale table entries of '{table.device}' to pruned widths: its datasheet is needed ({e})"
        ) from None
    fit = fit_model(table, dev.datasheet.peak_flops, dev.datasheet.memory_bandwidth, BYTES[dev.precision])
    return WidthModel(
        dev.datasheet.peak_flops,
        dev.datasheet.memory_bandwidth,
        BYTES[dev.precision],
        tuple(fit["efficiency"][k] for k in KINDS),
        fit["layer_overhead_us"],
        f"roofline fitted on the table's {len(table.entries)} entries "
        f"(per-entry MAPE {fit['reference_key_mape_pct']:.1f}%)",
    )


def _block_key(shape: BlockShape, block: MBConv) -> str:
    """The key a block would have at its present (possibly pruned) widths."""
    slim = BlockShape(
        shape.in_hw,
        block.expand.in_channels,
        block.proj.out_channels,
        block.expand.out_channels,
        shape.kernel,
        shape.stride,
        shape.se,
        shape.act,
        shape.residual,
    )
    return slim.key()


def slim_keys(model: SubnetModel, cfg: SubnetConfig) -> list[tuple[str, str]]:
    """``(table key, key at the model's widths)`` of every part the subnet runs."""
    sp = cfg.search_space
    r = cfg.resolution
    active = cfg.active_blocks()
    if not isinstance(model, SubnetModel) or len(model.blocks) != len(active):
        raise UserError("latency prediction of a pruned network needs a slim ofa-edge subnet of the given config.")
    head = model.head
    n = head.classifier.out_features
    stem_key, head_key, cls_key = fixed_keys(sp, r, n)
    fhw = sp.final_hw(r)
    pairs = [
        (stem_key, f"stem-i{r}x{r}x3-o{model.stem.conv.out_channels}-s{sp.stem_stride}"),
        (head_key, f"head-i{fhw}x{fhw}x{head.expand.in_channels}-m{head.expand.out_channels}-o{head.mix.out_channels}"),
        (cls_key, f"classifier-i{head.classifier.in_features}-o{n}"),
    ]
    for b, block in zip(active, model.blocks, strict=True):
        shape = sp.block_shape(r, b, cfg.kernel[b], cfg.expand[b])
        pairs.append((shape.key(), _block_key(shape, block)))
    return pairs


def coverage_gap(table: LatencyTable, cfg: SubnetConfig) -> str | None:
    """Why ``table`` cannot predict ``cfg``'s subnet, or ``None`` when it covers it."""
    if table.space == cfg.space and cfg.resolution in table.resolutions:
        return None
    return (
        f"the latency table of '{table.device}' covers {table.space} at {table.resolutions} px, "
        f"not this subnet ({cfg.space} at {cfg.resolution} px)"
    )


def predict_slim_latency(
    table: LatencyTable, cfg: SubnetConfig, model: nn.Module, wm: WidthModel | None = None
) -> dict[str, Any]:
    """Predicted latency (ms) of ``model`` (``cfg``'s subnet, possibly pruned) on ``table``'s
    device, next to the table's prediction for the unpruned subnet."""
    if gap := coverage_gap(table, cfg):
        raise UserError(f"{gap}; profile that device for it.")
    wm = wm or width_model(table)
    pairs = slim_keys(model, cfg)
    full, pruned = (wm.ms([p[i] for p in pairs]) for i in (0, 1))
    lut = np.array([table.entries[k]["median"] for k, _ in pairs])
    scale = float(table.correction["scale"]) if table.correction else 1.0
    subnet_ms = float(table.predict([cfg])[0])
    saved = float(np.sum(lut * (1.0 - pruned / full)))  # exactly 0.0 when no width changed
    return {
        "device": table.device,
        "estimated_table": table.estimated,
        "subnet_ms": subnet_ms,
        "pruned_ms": subnet_ms - scale * saved,
        "parts_scaled": int(np.sum(pruned != full)),
        "width_model": wm.source,
    }
