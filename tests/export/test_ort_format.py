"""ORT-format models: written, loadable, same outputs, and free of x86-only layout ops."""

from __future__ import annotations

import numpy as np
import onnx
import torch

from ofa_edge.export.int8 import quantize_int8
from ofa_edge.export.onnx_export import export_onnx
from ofa_edge.export.ort_format import write_optimized
from ofa_edge.export.verify import verify
from ofa_edge.onnx_bridge import ort_session, run_session


def test_ort_and_optimized_onnx_are_portable_and_exact(supernets, calibrated, tmp_path):
    net = supernets["mbv3-w1.0-cifar"]
    x = torch.randn(8, 3, 32, 32)
    model = calibrated(net, net.space.min(), x)
    onnx.save(export_onnx(model, 32), tmp_path / "m.onnx")
    ort_file = write_optimized(tmp_path / "m.onnx", tmp_path / "m.ort")
    assert ort_file.read_bytes()[4:8] == b"ORTM"  # the ORT flatbuffer file identifier
    assert verify(ort_file, model, x).max_abs_diff <= 1e-4
    optimized = onnx.load(write_optimized(tmp_path / "m.onnx", tmp_path / "m.optimized.onnx"))
    domains = {n.domain for n in optimized.graph.node}
    assert "com.microsoft.nchwc" not in domains  # the NCHWc transform (x86 only) stays off
    assert len(optimized.graph.node) < len(onnx.load(tmp_path / "m.onnx").graph.node)  # fusions happened


def test_int8_ort_runs_and_agrees_with_its_qdq_model(supernets, calibrated, tmp_path):
    net = supernets["mbv3-w1.0-cifar"]
    x = torch.randn(8, 3, 32, 32)
    model = calibrated(net, net.space.min(), x)
    onnx.save(export_onnx(model, 32), tmp_path / "m.onnx")
    quantize_int8(tmp_path / "m.onnx", tmp_path / "q.onnx", x, activation="uint8")
    ort_file = write_optimized(tmp_path / "q.onnx", tmp_path / "q.ort")
    got, want = run_session(ort_session(ort_file), x, 1), run_session(ort_session(tmp_path / "q.onnx"), x, 1)
    assert np.array_equal(got.argmax(1), want.argmax(1))
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()
