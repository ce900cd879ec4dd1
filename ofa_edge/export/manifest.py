"""The bundle's description: the manifest (``bundle.json``) and the files written beside it.

What an export writes about its model once the model files are in place: ``subnet.json``,
``preprocessing.json`` (with ``preprocess.py``, which implements it), ``classes.txt``, ``README.md``
and the manifest, which records the subnet, its counts, verification, the search's predictions,
what pruning measured, INT8 and TensorRT results and the versions that made it.
"""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path
from typing import Any

import onnx
import onnxruntime
import torch

import ofa_edge
from ofa_edge.data import preprocess as image_preprocess
from ofa_edge.data.formats import crop_size
from ofa_edge.export.bundle import MANIFEST, list_files
from ofa_edge.export.onnx_export import INPUT_NAME, OUTPUT_NAME
from ofa_edge.export.readme import render_readme
from ofa_edge.export.request import ExportRequest
from ofa_edge.host import now_utc
from ofa_edge.space import CostModel

ACCURACY_NOTE = (  # what the search's predicted accuracy is of (its predictor's labels)
    "predicted top-1 (%) of training-split images, which the supernet trained on, so it reads above top-1 on the "
    "test split; `ofa-edge eval --subnet subnet.json` measures the test split"
)


def decode_size(req: ExportRequest) -> int:
    """The size ImageFolder images are decoded (cropped) to: the space's largest resolution, as in training
    (the export loads its images so; preprocessing.json records the crop)."""
    return max(req.subnet.search_space.resolutions)


def primary_file(req: ExportRequest) -> str:
    """The bundle's main model file, by format and precision."""
    if req.format.name == "engine":
        return "model.engine"
    stem = "model_int8" if req.int8 else "model_fp16" if req.half else "model"
    return stem + req.format.suffix


def _counted(model: torch.nn.Module, resolution: int) -> dict[str, int]:
    """MACs and params of a pruned network, counted on the module (no analytic model fits it)."""
    from ofa_edge.prune.measure import count_macs, count_params

    return {"macs": count_macs(model, torch.zeros(1, 3, resolution, resolution)), "params": count_params(model)}


def _preprocessing(req: ExportRequest) -> dict[str, Any]:
    """preprocessing.json: the input the model was trained, recalibrated and verified on, from an image file
    (``preprocess.py`` beside it implements it): the loader's crop for ``--data``'s layout, then the transform."""
    cfg, space = req.subnet, req.subnet.search_space
    res, crop = cfg.resolution, crop_size(req.data, decode_size(req))
    return {
        "resolution": res,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "layout": "NCHW",
        "dtype": "float32",
        "batch": "dynamic" if req.dynamic_batch else 1,
        "crop_size": crop,
        "scale": "pixel / 255",
        "mean": list(space.mean),
        "std": list(space.std),
        "resize": f"bilinear with antialiasing of the normalised image to {res}x{res} (torch antialias=True)",
        "formula": "x = (rgb_uint8 / 255 - mean) / std",
        "steps": [
            "convert to RGB (uint8)",
            (
                f"resize the shorter side to {crop} px (PIL Image.BILINEAR), then cut the centred {crop}x{crop} "
                "square (crop_size; an ImageFolder tree's images were decoded so)"
                if crop
                else "no crop (crop_size null): packed and CIFAR datasets hold images of one size, used as stored "
                "(CIFAR: 32x32); give the model images made the way the dataset's were"
            ),
            "x = (rgb_uint8 / 255 - mean) / std, in float32, per channel",
            (
                f"no resize: the crop is {res}x{res}"
                if crop == res
                else f"resize x to {res}x{res}, bilinear with antialiasing (torch interpolate(antialias=True), or "
                f"PIL Image.BILINEAR on each float32 channel); none where x is {res}x{res} already"
            ),
            "HWC -> NCHW, a batch of one image",
        ],
    }


def _predicted(req: ExportRequest) -> dict[str, Any] | None:
    """The search's predictions for the manifest (``None``: none hold for this export), its accuracy qualified."""
    if not req.predicted:
        return None
    note = {"accuracy_note": ACCURACY_NOTE} if "accuracy" in req.predicted else {}
    return {"device": req.device, **req.predicted, **note, "latency_table": req.latency_table}


def _pruning(req: ExportRequest, r: dict[str, Any] | None, params: int) -> dict[str, Any] | None:
    """What ``ofa-edge prune`` measured for this pruned network (``r``: its result.json beside slim.json, when
    that is the same run's: same subnet and parameter count), for the manifest; None for a subnet export."""
    try:
        if r is None or r["subnet"] != req.subnet.to_dict() or r["after"]["params"] != params:
            return None
        lat = r.get("device_latency") or {}
        return {
            "method": r["method"],
            "target_sparsity": r["target_sparsity"],
            "group_sparsity": r["group_sparsity"],
            "top1": r["after"]["top1"],
            "top1_unpruned": r["before"]["top1"],
            "test_images": r["data"]["test_images"],
            "test_split": r["data"].get("test_split", "test"),  # a tree's val/ where it has no test/
            "data": r["data"]["root"],
            "latency": {k: lat[k] for k in ("device", "subnet_ms", "pruned_ms", "pruned_measured_ms") if k in lat},
        }
    except (KeyError, TypeError):
        return None


def write_metadata(
    req: ExportRequest,
    stage: Path,
    model: torch.nn.Module,
    classes: list[str],
    checks: list,
    int8: dict[str, Any] | None,
    trt: dict[str, Any] | None,
    bn: dict[str, Any] | None,
    weights_sha256: str,
    prune_result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write subnet.json, preprocessing.json (with preprocess.py), classes.txt, README.md and bundle.json
    into ``stage``; ``weights_sha256`` is the weights file's, ``prune_result`` a pruned network's result.json
    (read with its other files). Returns the manifest."""
    cfg, space = req.subnet, req.subnet.search_space
    cfg.save(stage / "subnet.json")
    preprocessing = _preprocessing(req)
    (stage / "preprocessing.json").write_text(json.dumps(preprocessing, indent=2) + "\n")
    shutil.copyfile(image_preprocess.__file__, stage / "preprocess.py")
    (stage / "classes.txt").write_text("\n".join(classes) + "\n")
    counts = _counted(model, cfg.resolution) if req.slim else CostModel(space, len(classes)).counts(cfg)
    manifest: dict[str, Any] = {
        "format": req.format.name,
        "primary": primary_file(req),
        "created": now_utc(),
        "subnet": cfg.to_dict(),
        "subnet_summary": cfg.describe(),
        "subnet_source": req.subnet_source,
        "supernet": None if req.slim else str(req.supernet.absolute()),
        "pruned_from": str(req.slim.absolute()) if req.slim else None,
        "weights_sha256": weights_sha256,
        "num_classes": len(classes),
        **counts,
        "opset": req.onnx_opset,
        "dynamic_batch": req.dynamic_batch,
        "bn_recalibration": bn,
        "verification": [c.to_dict() for c in checks],
        "predicted": _predicted(req),
        "pruning": _pruning(req, prune_result, counts["params"]),
        "int8": int8,
        "tensorrt": trt,
        "export_command": req.command(),
        "versions": {
            "ofa_edge": ofa_edge.__version__,
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(),
        },
    }
    names = sorted([*(p.name for p in stage.iterdir()), "README.md", MANIFEST])
    (stage / "README.md").write_text(render_readme(manifest, preprocessing, names))
    manifest["files"] = list_files(stage)
    (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
