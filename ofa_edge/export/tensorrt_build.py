"""Build a TensorRT engine from an ofa-edge bundle's ONNX models (TensorRT 10 and 11).

This file is self-contained (it imports only the standard library and, when building,
``tensorrt``): ``ofa-edge export --format trt`` copies it into every bundle as
``build_engine.py``, so the engine can be built on the target itself (a Jetson, a GPU
server), because an engine only runs on the GPU model and TensorRT version that built it.

Precision, and the 10 -> 11 break:

* TensorRT 10 (weak typing): the FP32 ONNX plus ``BuilderFlag.FP16`` for FP16; the QDQ
  ONNX plus ``BuilderFlag.INT8`` (and ``FP16`` for the layers left unquantized) for INT8.
* TensorRT 11 removed those flags; every network is strongly typed and precision lives in
  the graph: the FP16 ONNX (``model_fp16.onnx``) for FP16, the QDQ ONNX for INT8.

Usage on the target::

    python build_engine.py            # in the bundle folder: the precision and batch it was exported for
    python build_engine.py --precision fp16
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

PRECISIONS = ("fp32", "fp16", "int8")
MODEL_FILES = {"fp32": "model.onnx", "fp16": "model_fp16.onnx", "int8": "model_int8.onnx"}
INPUT_NAME = "input"
WORKSPACE_MIB = 1024  # builder workspace (MemoryPoolType.WORKSPACE; trtexec's --memPoolSize=workspace:...M)


def tensorrt_status() -> tuple[bool, str]:
    """(True, version) where TensorRT imports and a CUDA GPU answers; else (False, why not)."""
    try:
        import tensorrt as trt
    except ImportError as e:
        return False, (
            f"the tensorrt Python package does not import here ({e}; `pip install tensorrt` installs it on an x86 "
            "machine with an NVIDIA GPU, JetPack's python3-libnvinfer on a Jetson)"
        )
    try:
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    except (RuntimeError, TypeError) as e:
        return False, f"TensorRT {trt.__version__} imports but cannot create a builder (no CUDA GPU?): {e}"
    if builder is None:
        return False, f"TensorRT {trt.__version__} imports but found no usable CUDA GPU"
    return True, trt.__version__


def weak_typing_available(trt: object) -> bool:
    """TensorRT 10 still has precision builder flags; TensorRT 11 does not."""
    return hasattr(trt.BuilderFlag, "FP16")


def source_model(precision: str, weak_typing: bool) -> str:
    """The bundle's ONNX file a build of ``precision`` parses."""
    if precision == "fp16" and weak_typing:
        return MODEL_FILES["fp32"]
    return MODEL_FILES[precision]


def _shape(batch: int, resolution: int) -> str:
    return f"{INPUT_NAME}:{batch}x3x{resolution}x{resolution}"


def trtexec_commands(
    precision: str, resolution: int, max_batch: int | None = None, sparse_weights: bool = False
) -> dict[str, str]:
    """The exact ``trtexec`` build command for TensorRT 10 and for TensorRT 11.

    ``sparse_weights``: the network holds 2:4 structured-sparse layers; let TensorRT use sparse
    tensor cores for them (``--sparsity=enable``).
    """
    shapes = ""
    if max_batch:
        shapes = (
            f" --minShapes={_shape(1, resolution)} --optShapes={_shape(1, resolution)}"
            f" --maxShapes={_shape(max_batch, resolution)}"
        )
    # fp32 means fp32: TensorRT 10 allows TF32 tensor-core math by default on Ampere and newer
    flags10 = {"fp32": " --noTF32", "fp16": " --fp16", "int8": " --int8 --fp16"}[precision]
    sparse = " --sparsity=enable" if sparse_weights else ""
    pool = f" --memPoolSize=workspace:{WORKSPACE_MIB}M"  # build_engine.py's limit: the same tactics to pick from
    return {
        "tensorrt10": f"trtexec --onnx={source_model(precision, True)} --saveEngine=model.engine{shapes}{pool}{flags10}{sparse}",
        "tensorrt11": f"trtexec --onnx={source_model(precision, False)} --saveEngine=model.engine{shapes}{pool}{sparse}",
    }


def trtexec_latency_command(resolution: int, dynamic: bool) -> str:
    """``trtexec`` timing of a built engine at batch 1."""
    shapes = f" --shapes={_shape(1, resolution)}" if dynamic else ""
    return f"trtexec --loadEngine=model.engine{shapes} --warmUp=500 --iterations=500 --avgRuns=100"


def build_engine(
    bundle: str | Path,
    precision: str = "fp16",
    *,
    out: str | Path | None = None,
    max_batch: int | None = None,
    workspace_mib: int = WORKSPACE_MIB,
    sparse_weights: bool = False,
) -> Path:
    """Build ``model.engine`` (or ``out``) from the bundle's ONNX for ``precision``; returns its path.

    ``sparse_weights`` lets TensorRT run 2:4 structured-sparse layers on sparse tensor cores.
    """
    import tensorrt as trt

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    bundle = Path(bundle)
    weak = weak_typing_available(trt)
    onnx_path = bundle / source_model(precision, weak)
    if not onnx_path.is_file():
        raise FileNotFoundError(
            f"{onnx_path} is missing; export the bundle with the matching flag (--half for fp16, --int8 for int8)."
        )
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if not weak:  # TensorRT 11: strong typing is the only mode (the flag is accepted and harmless)
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    if precision == "fp32" and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)  # on by default: fp32 layers would run TF32 math
    if weak and precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if weak and precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)  # scales come from the QDQ nodes (explicit quantization)
    if sparse_weights:
        config.set_flag(trt.BuilderFlag.SPARSE_WEIGHTS)
    inp = network.get_input(0)
    if inp.shape[0] == -1:
        res = inp.shape[-1]
        profile = builder.create_optimization_profile()
        profile.set_shape(inp.name, (1, 3, res, res), (1, 3, res, res), (max_batch or 32, 3, res, res))
        config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT {trt.__version__} failed to build an engine from {onnx_path} (see log above).")
    out = Path(out) if out else bundle / "model.engine"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # self-contained (copied into bundles): no ofa_edge.io
    try:
        with open(tmp, "wb") as f:
            f.write(bytes(serialized))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)  # a killed build never leaves a half-written engine
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _manifest(bundle: str | Path) -> dict[str, Any]:
    """The bundle's bundle.json; empty where it is missing or unreadable."""
    try:
        manifest = json.loads((Path(bundle) / "bundle.json").read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def bundle_defaults(bundle: str | Path) -> dict[str, Any]:
    """The precision, largest batch and sparse weights the bundle was exported for (``tensorrt`` in its
    bundle.json); fp16, none and no where it has no such report."""
    report = _manifest(bundle).get("tensorrt") or {}
    if not isinstance(report, dict):
        report = {}
    return {
        "precision": report.get("precision", "fp16"),
        "max_batch": report.get("max_batch"),
        "sparse_weights": bool(report.get("sparse_weights")),
    }


def _positive_int(text: str) -> int:
    """An option's whole number of at least 1 (argparse ``type``: anything else exits 2 naming the option)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``build_engine.py``'s options, the ones not given taken from the bundle (:func:`bundle_defaults`); a
    ``--max-batch`` for a model of a fixed batch exits 2."""
    p = argparse.ArgumentParser(description="Build a TensorRT engine from this ofa-edge bundle.")
    p.add_argument("--bundle", default=str(Path(__file__).resolve().parent), help="bundle folder (default: here)")
    p.add_argument("--precision", choices=PRECISIONS, help="default: the bundle's (bundle.json), else fp16")
    p.add_argument("--out", default=None, help="engine path (default: BUNDLE/model.engine)")
    p.add_argument(
        "--max-batch", type=_positive_int, help="largest batch of a dynamic-batch model (default: the bundle's)"
    )
    p.add_argument(
        "--workspace",
        type=_positive_int,
        default=WORKSPACE_MIB,
        help=f"builder workspace in MiB (default {WORKSPACE_MIB})",
    )
    sparse_help = "use sparse tensor cores for 2:4-sparse layers (default: where the bundle has such layers)"
    p.add_argument("--sparse-weights", action=argparse.BooleanOptionalAction, default=None, help=sparse_help)
    args = p.parse_args(argv)
    if args.max_batch is not None and _manifest(args.bundle).get("dynamic_batch") is False:
        p.error(
            f"--max-batch {args.max_batch}: this bundle's model takes a fixed batch of 1 (it was exported without "
            "--dynamic-batch); drop --max-batch, or export again with --dynamic-batch --max-batch N."
        )
    for key, value in bundle_defaults(args.bundle).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ok, why = tensorrt_status()
    if not ok:
        print(f"error: {why}. Run this on the target with TensorRT installed.", file=sys.stderr)
        return 2
    try:
        path = build_engine(
            args.bundle, args.precision, out=args.out, max_batch=args.max_batch, workspace_mib=args.workspace,
            sparse_weights=args.sparse_weights,
        )  # fmt: skip
    except FileNotFoundError as e:  # the ONNX model of this precision: not in the bundle
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} (TensorRT {why}, {args.precision})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
