"""Latency prediction of pruned subnets from device tables: exact when nothing is pruned,
monotone in sparsity, and on an estimated table the estimator's own roofline at the new widths."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from ofa_edge.errors import UserError
from ofa_edge.latency.blocks import parse_block_key
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_TABLES
from ofa_edge.prune.predict import predict_slim_latency, slim_keys, width_model
from ofa_edge.prune.slim import slim
from ofa_edge.prune.zig import partition

SPARSITIES = (0.0, 0.2, 0.4, 0.6, 0.8)


@pytest.fixture(scope="module")
def pruned_family(ofa_subnet):
    """The subnet slimmed with nested random zero masks, one per sparsity (latency depends
    only on the widths, so no training is needed to get the pruned shapes)."""
    model, cfg = ofa_subnet
    part = partition(model, torch.randn(1, 3, cfg.resolution, cfg.resolution))
    order = torch.randperm(part.num_groups, generator=torch.Generator().manual_seed(0))
    nets = []
    for s in SPARSITIES:
        zero = torch.zeros(part.num_groups, dtype=torch.bool)
        zero[order[: int(s * part.num_groups)]] = True
        nets.append(slim(model, part, zero))
    return cfg, nets


@pytest.fixture(scope="module", params=["x86-cpu", "jetson-orin"])
def table(request) -> LatencyTable:
    """A measured table with an end-to-end correction, and an estimated one."""
    return LatencyTable.load(SHIPPED_TABLES / f"{request.param}.json")


def test_nothing_pruned_is_exactly_the_tables_prediction(table, pruned_family) -> None:
    cfg, nets = pruned_family
    got = predict_slim_latency(table, cfg, nets[0])
    assert got["parts_narrowed"] == 0
    assert got["pruned_ms"] == got["subnet_ms"] == table.predict([cfg])[0]


def test_prediction_falls_monotonically_with_sparsity(table, pruned_family) -> None:
    cfg, nets = pruned_family
    wm = width_model(table)
    ms = [predict_slim_latency(table, cfg, n, wm)["pruned_ms"] for n in nets]
    assert all(a >= b for a, b in itertools.pairwise(ms)), ms
    assert ms[-1] < 0.8 * ms[0] and ms[-1] > 0


def test_width_model_fits_its_table(table) -> None:
    wm = width_model(table)
    assert min(wm.coef) >= 0 and wm.entries == len(table.entries)
    keys = list(table.entries)
    measured = np.array([table.entries[k]["median"] for k in keys])
    assert np.mean(np.abs(wm.ms(keys) - measured) / measured) * 100 == pytest.approx(wm.fit_mape_pct)
    assert wm.fit_mape_pct < 40  # x86-cpu 13%, jetson-orin 30% (docs/benchmarks.md)


def test_slim_keys_read_the_pruned_widths(pruned_family) -> None:
    cfg, nets = pruned_family
    pairs = slim_keys(nets[3], cfg)
    assert len(pairs) == 3 + len(cfg.active_blocks())
    for (full_key, key), block in zip(pairs[3:], nets[3].blocks, strict=True):
        full, got = parse_block_key(full_key), parse_block_key(key)
        assert (got.in_ch, got.mid_ch, got.out_ch) == (
            block.expand.in_channels,
            block.expand.out_channels,
            block.proj.out_channels,
        )
        assert (got.in_hw, got.kernel, got.stride, got.se) == (full.in_hw, full.kernel, full.stride, full.se)
        assert got.mid_ch <= full.mid_ch and got.out_ch <= full.out_ch


def test_table_not_covering_the_resolution_is_refused(pruned_family) -> None:
    cfg, nets = pruned_family
    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    other = dataclasses.replace(cfg, resolution=next(r for r in (24, 28, 32) if r != cfg.resolution))
    table.resolutions = [r for r in table.resolutions if r != other.resolution]
    with pytest.raises(UserError, match="covers"):
        predict_slim_latency(table, other, nets[0])
