"""Datasheet estimates: layer model, what the fit can and cannot tell, and the per-kernel floor on GPUs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from ofa_edge.errors import UserError
from ofa_edge.latency.blocks import build_subnet
from ofa_edge.latency.devices import find_table_path, load_device
from ofa_edge.latency.estimate import (
    BYTES,
    estimate_device_table,
    estimate_table,
    fit_model,
    key_layers,
    reference_e2e_error,
)
from ofa_edge.latency.table import LatencyTable, lock_table
from ofa_edge.paths import SHIPPED_TABLES
from ofa_edge.space.config import SubnetConfig

# PyTorch ops that each launch one CUDA kernel in the h100 table's eager/graph-replay modules.
KERNEL_OPS = {
    "aten::conv2d", "aten::batch_norm", "aten::relu", "aten::relu_", "aten::hardswish", "aten::hardswish_",
    "aten::hardsigmoid", "aten::hardsigmoid_", "aten::add", "aten::add_", "aten::mul", "aten::mean", "aten::linear",
}  # fmt: skip
GPU_CLOCK_MHZ = {"h100": 1980, "jetson-orin": 1300, "jetson-orin-nano": 625}  # datasheets (max boost)


def _kernels(cfg: SubnetConfig) -> int:
    """GPU kernels a subnet's PyTorch forward launches (top-level kernel ops, counted on the CPU)."""
    model, x = build_subnet(cfg, 10), torch.randn(1, 3, cfg.resolution, cfg.resolution)
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        model(x)
    return sum(
        e.name in KERNEL_OPS and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))
        for e in prof.events()
    )


def test_estimated_gpu_entries_are_never_below_their_kernels_times_the_device_overhead():
    for name in ("jetson-orin", "jetson-orin-nano", "h200"):
        dev = load_device(name)
        table = LatencyTable.load(find_table_path(dev))
        overhead = table.provenance["layer_overhead_us"]
        if dev.layer_overhead_us is not None:  # a shipped table made before the device file changed is stale
            assert overhead == dev.layer_overhead_us, name
        assert table.estimated
        for key, e in table.entries.items():
            assert e["median"] >= len(key_layers(key)) * overhead * 1e-3, (name, key)


def test_jetson_per_kernel_overhead_is_not_below_the_h100s_measured_one_at_its_clock():
    """The h100's end-to-end latency over its GPU kernel count (validation subnets) is its per-kernel cost;
    a slower-clocked GPU spends at least as many cycles per kernel."""
    rows = json.loads((SHIPPED_TABLES / "reports" / "h100.validation.json").read_text())["subnets"][:40]
    kernels = np.array([_kernels(SubnetConfig.from_dict(r["config"])) for r in rows])
    measured_ms = np.array([r["measured_ms"] for r in rows])
    per_kernel_us = 1e3 * np.polyfit(kernels, measured_ms, 1)[0]
    assert 2.0 < per_kernel_us < 5.0  # 3.09 us over all 200
    for name in ("jetson-orin", "jetson-orin-nano"):
        floor = per_kernel_us * GPU_CLOCK_MHZ["h100"] / GPU_CLOCK_MHZ[name]
        assert load_device(name).layer_overhead_us >= 0.9 * floor, name


@pytest.mark.parametrize(("reference", "identified"), [("h100", set()), ("x86-cpu", {"dense", "depthwise"})])
def test_efficiencies_a_reference_cannot_tell_are_reported_as_such(reference, identified):
    ref_dev = load_device(reference)
    fit = fit_model(
        LatencyTable.load(find_table_path(ref_dev)),
        ref_dev.datasheet.peak_flops,
        ref_dev.datasheet.memory_bandwidth,
        BYTES[ref_dev.precision],
    )
    assert {k for k, v in fit["efficiency_identified"].items() if v} == identified
    dev = load_device("jetson-orin")
    table = estimate_table(dev, fit, dev.space, [32], 10)
    assert table.estimated and table.provenance["layer_overhead_us"] == dev.layer_overhead_us


@pytest.mark.parametrize("content", ["{not json", '{"subnets": [{"config": {}}]}', '{"rows": []}'])
def test_a_damaged_validation_report_beside_the_reference_is_named(tmp_path, content):
    ref_dev = load_device("x86-cpu")
    ref = LatencyTable.load(find_table_path(ref_dev))
    ref_path = tmp_path / "x86-cpu.json"
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "x86-cpu.validation.json").write_text(content)
    with pytest.raises(UserError, match=r"validation report '.*x86-cpu.validation.json' .* is unreadable"):
        reference_e2e_error({}, ref_dev, ref, ref_path)


def test_an_estimate_is_refused_while_a_profile_writes_its_table(tmp_path) -> None:
    path = tmp_path / "jetson-orin.json"
    with lock_table(path), pytest.raises(UserError, match=r"another `ofa-edge profile` \(process \d+\)"):
        estimate_device_table(load_device("jetson-orin"), "mbv3-w1.0-cifar", [32], 10, path, "h100")
    assert not path.exists()
