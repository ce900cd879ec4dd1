"""ONNX export of subnets of both spaces (every kernel, expand and depth choice, and random ones), verified
on ONNX Runtime against PyTorch."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from ofa_edge.export.onnx_export import INPUT_NAME, OUTPUT_NAME, export_onnx
from ofa_edge.export.verify import FP32_TOLERANCE, VerificationError, verify

N_RANDOM = 3  # beside the 12 covering subnets (was 30 random ones, this file's time)
RESOLUTION = {"mbv3-w1.0-cifar": 32, "mbv3-w1.0-imagenet": 128}


@pytest.mark.parametrize("space_name", list(RESOLUTION))
def test_subnets_export_and_verify(space_name, supernets, tmp_path, calibrated, covering_subnets):
    net = supernets[space_name]
    r = RESOLUTION[space_name]
    x = torch.randn(8, 3, r, r, generator=torch.Generator().manual_seed(0))
    configs = covering_subnets(net.space, N_RANDOM, np.random.default_rng(1), r)
    seen = set()
    for i, cfg in enumerate(configs):
        seen.add(cfg.canonical())
        model = calibrated(net, cfg, x)
        path = tmp_path / f"{i}.onnx"
        onnx.save(export_onnx(model, r), path)
        result = verify(path, model, x[:2])
        assert result.max_abs_diff <= FP32_TOLERANCE
        with torch.no_grad():  # logits of real scale that depend on the input: the bound is not trivially met
            y = model(x[:2])
        assert y.abs().max() > 0.1 and (y[0] - y[1]).abs().max() > 0.02
    assert len(seen) == len(configs)


def test_graph_is_simplified_and_static(supernets):
    net = supernets["mbv3-w1.0-cifar"]
    proto = export_onnx(net.extract(net.space.min()), 32)
    ops = {n.op_type for n in proto.graph.node}
    assert "BatchNormalization" not in ops and "Identity" not in ops  # BN folded into Conv, no-op nodes gone
    assert [i.name for i in proto.graph.input] == [INPUT_NAME]
    assert [o.name for o in proto.graph.output] == [OUTPUT_NAME]
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 32, 32]


def test_dynamic_batch_runs_any_batch(supernets, tmp_path, calibrated):
    net = supernets["mbv3-w1.0-cifar"]
    model = calibrated(net, net.space.min(), torch.randn(8, 3, 32, 32))
    onnx.save(export_onnx(model, 32, dynamic_batch=True), tmp_path / "d.onnx")
    result = verify(tmp_path / "d.onnx", model, torch.randn(5, 3, 32, 32), dynamic_batch=True)
    assert result.batch_sizes == (1, 5) and result.tolerance_rule == "FP32 bound"


def test_half_model_within_fp16_bound(supernets, tmp_path, calibrated):
    net = supernets["mbv3-w1.0-cifar"]
    model = calibrated(net, net.space.min(), torch.randn(8, 3, 32, 32))
    proto = export_onnx(model, 32, half=True)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # FP32 in/out, FP16 inside
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in proto.graph.initializer)
    onnx.save(proto, tmp_path / "h.onnx")
    x = torch.randn(2, 3, 32, 32)
    result = verify(tmp_path / "h.onnx", model, x, half=True)
    largest = float(model(x).detach().abs().max())
    assert result.max_abs_diff > 0 and result.tolerance == pytest.approx(0.02 * max(1.0, largest))
    assert result.tolerance_rule == f"2% of max(1, largest |logit| {largest:.3g})"  # the bound says what set it


@pytest.mark.parametrize("opset", [13, 20])
def test_the_opset_asked_for_is_written_and_verifies(supernets, tmp_path, calibrated, opset):
    net = supernets["mbv3-w1.0-cifar"]
    model = calibrated(net, net.space.min(), torch.randn(8, 3, 32, 32))
    proto = export_onnx(model, 32, opset=opset)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [opset]
    onnx.save(proto, tmp_path / "m.onnx")
    assert verify(tmp_path / "m.onnx", model, torch.randn(2, 3, 32, 32)).max_abs_diff <= FP32_TOLERANCE


def test_verification_fails_loudly_on_a_wrong_graph(supernets, tmp_path, calibrated):
    net = supernets["mbv3-w1.0-cifar"]
    model = calibrated(net, net.space.min(), torch.randn(8, 3, 32, 32))
    proto = export_onnx(model, 32)
    gemm = next(n for n in proto.graph.node if n.op_type == "Gemm")
    weight = next(t for t in proto.graph.initializer if t.name == gemm.input[1])
    w = onnx.numpy_helper.to_array(weight).copy()
    w[0, :] *= 1.01  # one class's weights off by 1%
    weight.CopyFrom(onnx.numpy_helper.from_array(w, weight.name))
    onnx.save(proto, tmp_path / "bad.onnx")
    with pytest.raises(VerificationError, match="disagrees with PyTorch"):
        verify(tmp_path / "bad.onnx", model, torch.randn(2, 3, 32, 32))
