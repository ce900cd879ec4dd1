"""DeviceTimer: networks timed on this machine on the table's scale, with how far the machine has drifted from it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ofa_edge.latency.backends.onnxruntime_backend import OnnxRuntimeBackend
from ofa_edge.latency.blocks import build_subnet
from ofa_edge.latency.device_timer import DeviceTimer, drift_warning
from ofa_edge.latency.drift import SpeedReference
from ofa_edge.latency.table import LatencyTable
from ofa_edge.onnx_bridge import torch_to_onnx
from ofa_edge.space import SearchSpace

SPACE = SearchSpace.get("mbv3-w1.0-cifar")


def _table(**provenance) -> LatencyTable:
    prov = {"device": "x86-cpu", "kind": "measured", **provenance}
    return LatencyTable(SPACE.name, 10, [24], prov, {}, complete=True)


def test_a_timed_subnet_reports_the_speed_factor_only_with_a_reference():
    cfg = SPACE.min(resolution=24)
    model = build_subnet(cfg, 10)
    plain = DeviceTimer(_table())(model, cfg.resolution)
    assert plain["median_ms"] > 0 and plain["speed_reference"] is False and "speed_factor" not in plain
    ref = SpeedReference.start(OnnxRuntimeBackend("cpu", 1, clock="thread_cpu"), SPACE.name, [24], 10, 1, n=2)
    timed = DeviceTimer(_table(speed_reference=ref.provenance()))(model, cfg.resolution)
    assert timed["speed_reference"] is True and 0.3 < timed["speed_factor"] < 3.0


class _Unexportable(nn.Module):
    """A network that fails when run, so exporting it fails: timed only through an export handed over."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("the timer exported the network itself")


def test_a_batch_one_export_handed_over_is_timed_instead_of_exporting_again():
    cfg = SPACE.min(resolution=24)
    ready = torch_to_onnx(build_subnet(cfg, 10), torch.randn(1, 3, 24, 24), input_name="input")
    assert DeviceTimer(_table())(_Unexportable(), 24, ready)["median_ms"] > 0
    with pytest.raises(RuntimeError, match="exported the network itself"):  # a batch-4 table times its own export
        DeviceTimer(_table(batch=4))(_Unexportable(), 24, ready)


def test_drift_warning_only_beyond_five_percent():
    assert drift_warning(None, 3.0) is None and drift_warning(1.04, 3.0) is None and drift_warning(0.96, 3.0) is None
    msg = drift_warning(1.5, 3.0)
    assert (
        msg is not None
        and "runs 1.50x slower" in msg
        and "4.500 ms" in msg
        and "ofa-edge profile --check" in msg
        and "--rescale" in msg
    )
    fast = drift_warning(0.8, 3.0)
    assert fast is not None and "runs 1.25x faster" in fast and "2.400 ms" in fast
    other = drift_warning(1.5, 3.0, same_cpu=False)  # another CPU's table: not a matter of speed
    assert other is not None and "another CPU's" in other and "slower" not in other
    assert "on this machine now it runs about 4.500 ms" in other  # what the measurement means here
    assert drift_warning(1.0, 3.0, same_cpu=True) is None
