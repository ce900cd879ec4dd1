"""TensorRT: the commands written into every bundle, and real engine builds where TensorRT runs."""

from __future__ import annotations

import json
import sys

import onnx
import pytest
import torch

from ofa_edge.export import tensorrt_build
from ofa_edge.export.int8 import quantize_int8
from ofa_edge.export.onnx_export import export_onnx
from ofa_edge.export.tensorrt_build import (
    WORKSPACE_MIB,
    build_engine,
    bundle_defaults,
    parse_args,
    source_model,
    tensorrt_status,
    trtexec_commands,
)


def test_trtexec_commands_for_tensorrt_10_and_11():
    fp16 = trtexec_commands("fp16", 32)
    pool = "--memPoolSize=workspace:1024M"  # build_engine.py's workspace: the same tactics to choose from
    assert fp16["tensorrt10"] == f"trtexec --onnx=model.onnx --saveEngine=model.engine {pool} --fp16"
    assert fp16["tensorrt11"] == f"trtexec --onnx=model_fp16.onnx --saveEngine=model.engine {pool}"  # no flags in 11
    dyn = trtexec_commands("fp32", 128, max_batch=16)["tensorrt11"]
    assert "--minShapes=input:1x3x128x128" in dyn and "--maxShapes=input:16x3x128x128" in dyn
    assert trtexec_commands("fp32", 32)["tensorrt10"].endswith(" --noTF32")  # fp32 without TF32 tensor-core math


def test_build_defaults_are_the_bundles(tmp_path):
    """`python build_engine.py` with no flags builds what the bundle was exported for (its bundle.json), not fp16."""
    assert bundle_defaults(tmp_path) == {"precision": "fp16", "max_batch": None, "sparse_weights": False}  # none
    report = {"precision": "int8", "max_batch": 8, "sparse_weights": {"pattern": "2:4", "layers": ["a"]}}
    (tmp_path / "bundle.json").write_text(json.dumps({"format": "engine", "tensorrt": report}))
    assert bundle_defaults(tmp_path) == {"precision": "int8", "max_batch": 8, "sparse_weights": True}
    (tmp_path / "bundle.json").write_text(json.dumps({"format": "onnx", "tensorrt": None}))
    assert bundle_defaults(tmp_path)["precision"] == "fp16"


def test_build_engine_options_override_the_bundles_and_can_turn_sparse_weights_off(tmp_path):
    """A 2:4 bundle built with sparse tensor cores whatever was asked: --sparse-weights could only turn them on."""
    report = {"precision": "int8", "max_batch": 8, "sparse_weights": {"pattern": "2:4", "layers": ["a"]}}
    (tmp_path / "bundle.json").write_text(json.dumps({"format": "trt", "tensorrt": report}))
    bundle = ["--bundle", str(tmp_path)]
    assert vars(parse_args(bundle)) | {"out": None} == {
        "bundle": str(tmp_path), "precision": "int8", "out": None, "max_batch": 8, "sparse_weights": True,
        "workspace": WORKSPACE_MIB,
    }  # fmt: skip
    given = parse_args([*bundle, "--no-sparse-weights", "--precision", "fp16", "--max-batch", "2", "--workspace", "64"])
    assert (given.sparse_weights, given.precision, given.max_batch, given.workspace) == (False, "fp16", 2, 64)


def test_max_batch_for_a_fixed_batch_model_exits_2_naming_why(tmp_path, capsys):
    """build_engine.py --max-batch 8 on a bundle exported without --dynamic-batch was silently ignored."""
    (tmp_path / "bundle.json").write_text(json.dumps({"format": "engine", "dynamic_batch": False, "tensorrt": {}}))
    with pytest.raises(SystemExit) as e:
        parse_args(["--bundle", str(tmp_path), "--max-batch", "8"])
    said = " ".join(capsys.readouterr().err.split())
    assert e.value.code == 2 and "Traceback" not in said
    assert (
        "--max-batch 8: this bundle's model takes a fixed batch of 1 (it was exported without --dynamic-batch)" in said
    )
    assert parse_args(["--bundle", str(tmp_path)]).max_batch is None  # not given: no complaint
    (tmp_path / "bundle.json").write_text(json.dumps({"format": "engine", "dynamic_batch": True, "tensorrt": {}}))
    assert parse_args(["--bundle", str(tmp_path), "--max-batch", "8"]).max_batch == 8


@pytest.mark.parametrize(("flag", "value"), [("--max-batch", "0"), ("--max-batch", "-4"), ("--workspace", "0")])
def test_a_size_below_one_exits_2_naming_the_option(tmp_path, capsys, flag, value):
    """build_engine.py --max-batch 0 (or negative) was accepted."""
    (tmp_path / "bundle.json").write_text(json.dumps({"format": "engine", "dynamic_batch": True, "tensorrt": {}}))
    with pytest.raises(SystemExit) as e:
        parse_args(["--bundle", str(tmp_path), flag, value])
    said = " ".join(capsys.readouterr().err.split())
    assert e.value.code == 2 and f"argument {flag}: must be a whole number of at least 1, got '{value}'" in said


def test_a_precision_whose_onnx_the_bundle_lacks_exits_2_without_a_traceback(tmp_path, monkeypatch, capsys):
    """build_engine.py --precision int8 in a bundle without model_int8.onnx died with a FileNotFoundError
    traceback. TensorRT is not needed to reach that: its status and the build stand in for the target's."""

    def missing(bundle, precision, **_):
        raise FileNotFoundError(f"{bundle}/model_int8.onnx is missing; export the bundle with --int8.")

    monkeypatch.setattr(tensorrt_build, "tensorrt_status", lambda: (True, "10.16"))
    monkeypatch.setattr(tensorrt_build, "build_engine", missing)
    assert tensorrt_build.main(["--bundle", str(tmp_path), "--precision", "int8"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path}/model_int8.onnx is missing")


def test_without_tensorrt_the_reason_says_how_to_install_it(monkeypatch):
    """It said only that tensorrt does not import, in export's summary and in the bundle's build_engine.py."""
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # `import tensorrt` raises ImportError, as where it is absent
    ok, why = tensorrt_status()
    assert not ok and "does not import here" in why and "`pip install tensorrt`" in why


def test_source_model_follows_the_typing_mode():
    assert source_model("fp16", weak_typing=True) == "model.onnx"
    assert source_model("fp16", weak_typing=False) == "model_fp16.onnx"
    assert source_model("int8", weak_typing=True) == source_model("int8", weak_typing=False) == "model_int8.onnx"


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_engine_builds_where_tensorrt_runs(precision, supernets, calibrated, tmp_path):
    trt = pytest.importorskip(
        "tensorrt", reason="TensorRT is not installed here: engines are built only where `import tensorrt` works"
    )
    ok, why = tensorrt_status()
    if not ok:
        pytest.skip(why)
    net = supernets["mbv3-w1.0-cifar"]
    x = torch.randn(8, 3, 32, 32)
    model = calibrated(net, net.space.min(), x)
    onnx.save(export_onnx(model, 32), tmp_path / "model.onnx")
    onnx.save(export_onnx(model, 32, half=True), tmp_path / "model_fp16.onnx")
    quantize_int8(tmp_path / "model.onnx", tmp_path / "model_int8.onnx", x, activation="int8")
    engine = build_engine(tmp_path, precision)
    runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
    assert runtime.deserialize_cuda_engine(engine.read_bytes()) is not None


def test_sparse_engine_builds_where_tensorrt_runs(calibrated, tmp_path):
    trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed here")
    ok, why = tensorrt_status()
    if not ok:
        pytest.skip(why)
    from ofa_edge.supernet import Supernet
    from ofa_edge.train.spfde.sparsity import SparseMasks, SparsityConfig

    net = Supernet("mbv3-w1.0-cifar", 10)
    SparseMasks(net, SparsityConfig(0.5, pattern="2:4"))
    model = calibrated(net, net.space.max(), torch.randn(8, 3, 32, 32))
    onnx.save(export_onnx(model, 32), tmp_path / "model.onnx")
    engine = build_engine(tmp_path, "fp16", sparse_weights=True)
    assert trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(engine.read_bytes()) is not None
