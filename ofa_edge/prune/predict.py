"""Predicted latency of a pruned (slim) OFA subnet on any device with a latency table.

No table entry holds pruned channel widths. The table's own prediction for the unpruned
subnet (LUT sum plus its end-to-end correction) is scaled by ``model(slim) / model(unpruned)``
where ``model`` is a per-layer cost model of the device fitted on the table's entries:
``ms ≈ Σ_layers a_kind · MACs + b · elements moved`` (kinds dense / depthwise / elementwise,
layers from :func:`ofa_edge.latency.estimate.key_layers`), non-negative least squares in
relative error. It has no fixed per-layer or per-block cost on purpose: across the OFA grid
such terms are confounded with width, and fitted ones kept most of the latency of narrow
pruned networks that, measured, had shed it (docs/benchmarks.md, OTO pruning). A network
with nothing pruned gets exactly the table's prediction; fewer channels never predict more.

Not modelled: ONNX Runtime's CPU depthwise kernel is ~7x slower for channel counts that are
not multiples of 4 (:func:`unaligned_depthwise` counts such layers; OFA widths never are).
Approximation: the SE bottleneck width is modelled as ``mid/4`` (the key's convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import nnls
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.latency.estimate import KINDS, key_layers
from ofa_edge.latency.keys import fixed_keys
from ofa_edge.latency.table import LatencyTable
from ofa_edge.prune.slim import CHANNEL_MULTIPLE, is_depthwise
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.search_space import BlockShape, classifier_key, head_key, stem_key
from ofa_edge.supernet.layers import MBConv, SubnetModel


def _features(keys: list[str]) -> np.ndarray:
    """``(len(keys), 4)``: MACs of dense, depthwise and elementwise layers, elements moved."""
    out = np.zeros((len(keys), len(KINDS) + 1))
    for i, key in enumerate(keys):
        for kind, macs, elems in key_layers(key):
            out[i, KINDS.index(kind)] += macs
            out[i, -1] += elems
    return out


@dataclass(frozen=True)
class WidthModel:
    """Per-layer cost model of one device: ms per MAC of each kind and per element moved."""

    coef: tuple[float, ...]
    fit_mape_pct: float
    entries: int

    def ms(self, keys: list[str]) -> np.ndarray:
        """Modelled latency (ms) of each key."""
        return _features(keys) @ np.asarray(self.coef)

    def describe(self) -> str:
        return (
            f"MACs/bytes model fitted on the table's {self.entries} entries (per-entry MAPE {self.fit_mape_pct:.0f}%)"
        )


def width_model(table: LatencyTable) -> WidthModel:
    """Fit :class:`WidthModel` to ``table``'s entries (non-negative, relative error)."""
    keys = list(table.entries)
    y = np.array([table.entries[k]["median"] for k in keys])
    x = _features(keys)
    coef, _ = nnls(x / y[:, None], np.ones_like(y))
    mape = float(100 * np.mean(np.abs(x @ coef - y) / y))
    return WidthModel(tuple(float(c) for c in coef), mape, len(keys))


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
    table_stem, table_head, table_cls = fixed_keys(sp, r, n)
    fhw = sp.final_hw(r)
    pairs = [
        (table_stem, stem_key(r, model.stem.conv.out_channels, sp.stem_stride)),
        (table_head, head_key(fhw, head.expand.in_channels, head.expand.out_channels, head.mix.out_channels)),
        (table_cls, classifier_key(head.classifier.in_features, n)),
    ]
    for b, block in zip(active, model.blocks, strict=True):
        shape = sp.block_shape(r, b, cfg.kernel[b], cfg.expand[b])
        pairs.append((shape.key(), _block_key(shape, block)))
    return pairs


def unaligned_depthwise(model: nn.Module) -> int:
    """Depthwise convolutions whose channel count is not a multiple of :data:`~ofa_edge.prune.slim.CHANNEL_MULTIPLE`.

    ONNX Runtime's CPU kernels have a fast depthwise path only for multiples of 4 channels;
    measured here, a 5x5 depthwise conv at 16x16 takes 0.29 ms with 95 or 94 channels and
    0.04 ms with 96 or 92. No table entry (OFA widths are multiples of 8) shows this, so the
    prediction assumes the fast path and these layers are counted instead."""
    return sum(1 for m in model.modules() if is_depthwise(m) and m.in_channels % CHANNEL_MULTIPLE)


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
    full, pruned = (float(wm.ms([p[i] for p in pairs]).sum()) for i in (0, 1))
    subnet_ms = float(table.predict([cfg])[0])
    return {
        "device": table.device,
        "estimated_table": table.estimated,
        "subnet_ms": subnet_ms,
        "pruned_ms": subnet_ms * (pruned / full),  # exactly subnet_ms when no width changed
        "parts_narrowed": sum(a != b for a, b in pairs),
        "unaligned_depthwise": unaligned_depthwise(model),
        "width_model": wm.describe(),
    }
