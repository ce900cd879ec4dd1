"""Does the estimate model fit better with a squeeze-and-excitation counted as four layers?

    PYTHONPATH=. python benchmarks/estimate_se_layers.py

``latency/estimate.py::key_layers`` counts SE as one elementwise layer (one per-layer overhead). On a
GPU it is four kernels: pool, two 1x1 convs on a vector, scale. This fits the model both ways on the
shipped measured tables and prints each fit's error on its reference (no timing, a few seconds).
"""

from __future__ import annotations

import json
from unittest import mock

from ofa_edge.latency import estimate
from ofa_edge.latency.blocks import parse_block_key
from ofa_edge.latency.devices import load_device
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_TABLES

SE_AS_ONE = estimate.key_layers


def se_as_four(key: str) -> list[tuple[str, float, float]]:
    """``key_layers`` with each SE split into pool, reduce conv, expand conv and scale."""
    if not key.startswith("mb-") or not parse_block_key(key).se:
        return SE_AS_ONE(key)
    s = parse_block_key(key)
    a_mo, macs = s.out_hw**2 * s.mid_ch, s.layer_macs()
    vec = s.mid_ch + s.se_ch + s.mid_ch * s.se_ch
    se = [
        ("elementwise", a_mo, a_mo + s.mid_ch),
        ("dense", macs["se.reduce"], vec),
        ("dense", macs["se.expand"], vec),
        ("elementwise", a_mo, 2 * a_mo + s.mid_ch),
    ]
    expand, depthwise, _, project = SE_AS_ONE(key)
    return [expand, depthwise, *se, project]


def main() -> None:
    rows = []
    for name in ("h100", "x86-cpu"):
        table = LatencyTable.load(SHIPPED_TABLES / f"{name}.json")
        dev = load_device(table.device)
        for variant, layers in (("se_as_one", SE_AS_ONE), ("se_as_four", se_as_four)):
            with mock.patch.object(estimate, "key_layers", layers):
                fit = estimate.fit_model(
                    table, dev.datasheet.peak_flops, dev.datasheet.memory_bandwidth, estimate.BYTES[dev.precision]
                )
            keep = ("layer_overhead_us", "reference_key_mape_pct", "reference_key_within_10pct")
            rows.append({"table": name, "variant": variant, **{k: fit[k] for k in keep},
                         "heldout_mape_pct": fit["reference_heldout_key_mape_pct"]})  # fmt: skip
            print(json.dumps(rows[-1]))


if __name__ == "__main__":
    main()
