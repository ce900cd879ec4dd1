"""One export, end to end: extract the subnet, recalibrate BN, export, verify, write the bundle
(its description files and manifest: :mod:`ofa_edge.export.manifest`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from ofa_edge.data import ImageSet
from ofa_edge.data.classes import require_num_classes, require_same_classes
from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.transforms import Preprocess
from ofa_edge.errors import UserError, require_instance
from ofa_edge.export import tensorrt_build, trt_latency
from ofa_edge.export.bundle import check_output_dir
from ofa_edge.export.evaluate import ort_latency_ms, top1
from ofa_edge.export.formats import option_name
from ofa_edge.export.inputs import ExportInputs, slim_inputs
from ofa_edge.export.int8 import quantize_int8, weight_scheme
from ofa_edge.export.manifest import decode_size, primary_file, write_metadata
from ofa_edge.export.onnx_export import export_onnx
from ofa_edge.export.ort_format import write_optimized
from ofa_edge.export.request import ExportRequest
from ofa_edge.export.sparsity import two_four_layers
from ofa_edge.export.verify import verify
from ofa_edge.io import file_sha256, read_consistent, staged_dir
from ofa_edge.onnx_bridge import ort_session, run_session
from ofa_edge.supernet.bn_cache import bn_cache_key, load_bn_stats, save_bn_stats
from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH, recalibrate_bn
from ofa_edge.supernet.checkpoint import load_supernet
from ofa_edge.supernet.metadata import read_metadata, trained_on

BATCH = 100  # images preprocessed (and verified) at a time; BN is recalibrated in batches of BN_CALIB_BATCH


def _images(req: ExportRequest, split: str, limit: int, seed: int) -> ImageSet:
    """A seeded random subset of ``split`` of ``--data`` (any layout :func:`load_dataset` reads)."""
    return load_dataset(req.data, split, limit=limit, seed=seed, size=decode_size(req), balanced=False)


@dataclass(frozen=True)
class _Loaded:
    """What an export builds from: the model, its class names, the verification inputs, the BN recalibration's
    record (None: a pruned network keeps its own statistics), the weights file's SHA-256, and for a pruned network
    its prune's result.json (None where missing or unreadable)."""

    model: torch.nn.Module
    classes: list[str]
    inputs: torch.Tensor
    bn: dict[str, Any] | None
    weights_sha256: str
    prune_result: dict[str, Any] | None = None


@dataclass(frozen=True)
class _SlimFiles:
    """A pruned network's files, as one run of `ofa-edge prune` wrote them."""

    inputs: ExportInputs  # its description (slim.json), checked
    model: torch.nn.Module
    preprocessing: Preprocess
    weights_sha256: str
    result: dict[str, Any] | None


def _read_slim(path: Path) -> _SlimFiles:
    """:func:`_load_slim`'s files as they are now."""
    from ofa_edge.prune.slim import load_slim

    inputs = slim_inputs(path)
    doc = json.loads(path.read_text())
    model = load_slim(path)
    return _SlimFiles(
        inputs, model, Preprocess.from_dict(doc["preprocessing"]), file_sha256(path.parent / doc["weights"]),
        _json_or_none(path.parent / "result.json"),
    )  # fmt: skip


def _json_or_none(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None where it is missing or no JSON object."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _load_slim(req: ExportRequest, step: Callable[[str], None]) -> _Loaded:
    """A pruned network as `ofa-edge prune` saved it (already trained and calibrated: no BN reset): its
    description, weights and result read in one consistent read (a prune may replace its folder meanwhile)."""
    step(f"loading the pruned network {req.slim}")
    files = read_consistent(req.slim.parent, lambda: _read_slim(req.slim))
    if files.inputs.subnet != req.subnet:
        raise UserError(
            f"'{req.slim}' was replaced by another `ofa-edge prune` run (of another subnet) after this export read "
            "it: run the export again."
        )
    test = _images(req, "test", req.verify_images, seed=0)
    inputs = files.preprocessing.all(test.images, BATCH)
    classes = files.inputs.classes or []
    _require_slim_classes(req, classes, _num_outputs(files.model, inputs[:1]), test.classes)
    return _Loaded(files.model, classes, inputs, None, files.weights_sha256, files.result)


@torch.no_grad()
def _num_outputs(model: torch.nn.Module, x: torch.Tensor) -> int:
    """How many class scores ``model`` gives for an input like ``x``."""
    return int(model(x).shape[1])


def _require_slim_classes(req: ExportRequest, classes: list[str], outputs: int, data_classes: list[str]) -> None:
    """A :class:`UserError` unless the pruned network's class names fit its outputs and ``--data``'s classes:
    otherwise classes.txt would misname the outputs, and INT8's top-1 would score other labels."""
    if len(classes) != outputs:
        raise UserError(
            f"'{req.slim}' names {len(classes)} classes but its network gives {outputs} class scores; slim.json and "
            "its weights come from different runs or were edited: re-run `ofa-edge prune`."
        )
    if data_classes != classes:
        raise UserError(
            f"{option_name('data')} '{req.data}' has {len(data_classes)} classes ({', '.join(data_classes[:4])}, ...) "
            f"but the pruned network '{req.slim}' was trained on {len(classes)} ({', '.join(classes[:4])}, ...); pass "
            "the dataset it was pruned on (its result.json names it under data.root)."
        )


def _load_model(req: ExportRequest, step: Callable[[str], None]) -> _Loaded:
    """The extracted, BN-recalibrated subnet (or the pruned network), with what the export needs beside it. The
    data is read and checked against the checkpoint's header before the supernet loads."""
    if req.slim is not None:
        return _load_slim(req, step)
    cfg = req.subnet
    meta = read_metadata(req.supernet)
    if meta["space"] != cfg.space:
        raise UserError(
            f"the subnet is from space '{cfg.space}' but supernet '{req.supernet}' is '{meta['space']}'. "
            f"Pass a subnet of '{meta['space']}' (run `ofa-edge search` with this supernet) or the supernet it came "
            f"from ({option_name('supernet')})."
        )
    step("loading data")
    train = _images(req, "train", req.images.bn, seed=0).shuffled(seed=0)
    require_num_classes(train, meta["num_classes"], req.data, trained_on(meta))
    test = _images(req, "test", req.verify_images, seed=0)
    require_same_classes(train, test, req.data)
    step("loading the supernet")
    net = load_supernet(req.supernet)
    prep = Preprocess(cfg.resolution, net.space.mean, net.space.std)
    model = net.extract(cfg).eval()
    entry = None
    if req.bn_cache is not None:
        entry = (
            req.bn_cache / f"{bn_cache_key(file_sha256(req.supernet), cfg, train.images, BN_CALIB_BATCH)}.safetensors"
        )
    cached = entry is not None and load_bn_stats(model, entry)
    if cached:
        step(f"BN statistics of these {len(train)} training images: from the cache {entry}")
    else:
        step(f"recalibrating BN on {len(train)} training images")
        recalibrate_bn(model, prep.chunks(train.images, BN_CALIB_BATCH), channels_last=True)  # CPU: the fast format
        if entry is not None:
            save_bn_stats(model, entry)
    bn = {
        "images": len(train), "batch": BN_CALIB_BATCH, "split": "train", "data": str(req.data.absolute()),
        "from_cache": cached,
    }  # fmt: skip
    return _Loaded(model, train.classes, prep.all(test.images, BATCH), bn, file_sha256(req.supernet))


def _int8(req: ExportRequest, stage: Path, step: Callable[[str], None]) -> dict[str, Any]:
    """Quantize model.onnx to model_int8.onnx and measure top-1 and latency against FP32."""
    cfg, space = req.subnet, req.subnet.search_space
    prep = Preprocess(cfg.resolution, space.mean, space.std)
    calib = _images(req, "train", req.images.int8_calib, seed=1)
    step(f"INT8: calibrating on {len(calib)} training images")
    quantize_int8(
        stage / "model.onnx",
        stage / "model_int8.onnx",
        prep.chunks(calib.images, BATCH),  # preprocessed as calibration reads them: bounded memory
        activation=req.format.int8_activation,
    )
    test = _images(req, "test", req.images.int8_eval, seed=0)
    step(f"INT8: evaluating FP32 and INT8 on {len(test)} {test.split} images")
    images = prep.all(test.images, BATCH)
    fp32, int8 = ort_session(stage / "model.onnx"), ort_session(stage / "model_int8.onnx")
    acc32, acc8 = top1(fp32, images, test.labels), top1(int8, images, test.labels)
    lat32, lat8 = ort_latency_ms(fp32, cfg.resolution), ort_latency_ms(int8, cfg.resolution)
    return {
        "model": "model_int8.onnx",
        "format": "QDQ",
        "weights": weight_scheme(req.format.int8_activation),
        "activations": f"{req.format.int8_activation} ({'symmetric' if req.format.int8_activation == 'int8' else 'asymmetric'})",
        "calibration": {"method": "minmax", "images": len(calib), "split": "train"},
        "eval_images": len(test),
        "top1_fp32": acc32,
        "top1_int8": acc8,
        "top1_change_points": acc8 - acc32,
        "cpu_latency_ms_fp32": lat32,
        "cpu_latency_ms_int8": lat8,
        "cpu_speedup": lat32 / lat8,
        "threads": torch.get_num_threads(),
    }


def _tensorrt(req: ExportRequest, stage: Path, model: torch.nn.Module, step: Callable[[str], None]) -> dict[str, Any]:
    """Build scripts and commands always; the engine itself where TensorRT runs."""
    precision = "int8" if req.int8 else "fp16" if req.half else "fp32"
    max_batch = req.engine_max_batch
    sparse_layers = two_four_layers(model)  # 2:4-sparse weights (SpFDE): let TensorRT use sparse tensor cores
    sparse = bool(sparse_layers)
    shutil.copyfile(tensorrt_build.__file__, stage / "build_engine.py")
    shutil.copyfile(trt_latency.__file__, stage / "check_latency.py")
    commands = tensorrt_build.trtexec_commands(precision, req.subnet.resolution, max_batch, sparse_weights=sparse)
    latency_cmd = tensorrt_build.trtexec_latency_command(req.subnet.resolution, req.dynamic_batch)
    script = (
        "#!/usr/bin/env sh\n# Build model.engine on the target (engines are specific to a GPU and a TensorRT version).\n"
        'set -e\ncd "$(dirname "$0")"\n'
        "if trtexec --help 2>&1 | grep -q -- '--fp16'; then\n"
        f"  {commands['tensorrt10']}  # TensorRT 10\nelse\n  {commands['tensorrt11']}  # TensorRT 11+\nfi\n"
        f"{latency_cmd}\n"
    )
    (stage / "trtexec.sh").write_text(script)
    (stage / "trtexec.sh").chmod(0o755)
    ok, why = tensorrt_build.tensorrt_status()
    report: dict[str, Any] = {
        "precision": precision,
        "precision_from": req.precision.source,  # the searched table it followed, or the option that chose
        "max_batch": max_batch,
        "trtexec": commands,
        "trtexec_latency": latency_cmd,
        "build_script": f"python build_engine.py --precision {precision}"
        + (f" --max-batch {max_batch}" if max_batch else "")
        + (" --sparse-weights" if sparse else ""),
        "sparse_weights": {"pattern": "2:4", "layers": sparse_layers} if sparse else None,
        "latency_script": "python check_latency.py",
        "engine_built": False,
    }
    if ok:
        step(f"building the TensorRT {why} engine ({precision})")
        tensorrt_build.build_engine(stage, precision, max_batch=max_batch, sparse_weights=sparse)
        report.update(engine_built=True, tensorrt_version=why)
    else:
        report["engine_missing_reason"] = f"{why}; build the engine on the target with trtexec.sh or build_engine.py"
    return report


def export_bundle(req: ExportRequest, step: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run the export and write the bundle folder ``req.out`` atomically; returns its manifest."""
    require_instance(req, ExportRequest, "export_bundle", "pass ExportRequest(...) or ExportRequest.from_inputs(...)")
    out = check_output_dir(req.out)  # before any work
    cfg = req.subnet
    loaded = _load_model(req, step)
    model, inputs = loaded.model, loaded.inputs
    with staged_dir(out) as stage:
        step("exporting ONNX (FP32) and verifying on ONNX Runtime")
        onnx.save(export_onnx(model, cfg.resolution, dynamic_batch=req.dynamic_batch, opset=req.onnx_opset),
                  stage / "model.onnx")  # fmt: skip
        checks = [verify(stage / "model.onnx", model, inputs, dynamic_batch=req.dynamic_batch)]
        if req.half:
            step("exporting ONNX (FP16) and verifying")
            half = export_onnx(model, cfg.resolution, dynamic_batch=req.dynamic_batch, half=True, opset=req.onnx_opset)
            onnx.save(half, stage / "model_fp16.onnx")
            checks.append(verify(stage / "model_fp16.onnx", model, inputs, dynamic_batch=req.dynamic_batch, half=True))
        int8 = _int8(req, stage, step) if req.int8 else None
        if req.format.name == "ort":
            step("writing the ORT-format model")
            src = "model_int8.onnx" if req.int8 else "model.onnx"
            ort_file = write_optimized(stage / src, stage / primary_file(req))
            if req.int8:  # quantized: no 1e-4 bound; it must load and agree with the QDQ model it came from
                same = run_session(ort_session(ort_file), inputs, 1).argmax(1)
                want = run_session(ort_session(stage / src), inputs, 1).argmax(1)
                int8["ort_top1_agreement_with_qdq"] = float((same == want).mean())
            else:
                checks.append(verify(ort_file, model, inputs, dynamic_batch=req.dynamic_batch))
        with torch.no_grad():
            np.savez_compressed(stage / "reference.npz", inputs=inputs.numpy(), logits=model(inputs).numpy())
        trt = _tensorrt(req, stage, model, step) if req.format.name == "engine" else None
        step("writing metadata")
        manifest = write_metadata(
            req, stage, model, loaded.classes, checks, int8, trt, loaded.bn, loaded.weights_sha256,
            prune_result=loaded.prune_result,
        )  # fmt: skip
    return manifest
