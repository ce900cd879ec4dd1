"""Time a TensorRT engine at batch 1 and check its top-1 against the bundle's reference logits.

Self-contained (standard library, numpy, ``tensorrt``, ``pycuda``): ``ofa-edge export
--format trt`` copies it into every bundle as ``check_latency.py`` to run on the target::

    python check_latency.py                   # in the bundle folder, after build_engine.py

ofa-edge itself never imports pycuda: only this script needs it, on the target (see :data:`NEEDS`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

NEEDS = {  # what this script imports beyond numpy, and how the target gets it
    "tensorrt": "JetPack's python3-libnvinfer on a Jetson, `pip install tensorrt` elsewhere",
    "pycuda": "`pip install pycuda`, which compiles against the CUDA toolkit: JetPack has it; elsewhere install "
    "the toolkit with nvcc on PATH",
}


def missing_modules() -> list[str]:
    """The modules of :data:`NEEDS` that this machine lacks, each with how to install it."""
    return [f"{name} ({how})" for name, how in NEEDS.items() if importlib.util.find_spec(name) is None]


def run_engine(engine_path: Path, batch: np.ndarray, runs: int, warmup: int) -> tuple[np.ndarray, list[float]]:
    """Outputs for ``batch`` (run image by image) and per-call latencies in ms."""
    import pycuda.autoinit  # noqa: F401 - creates the CUDA context
    import pycuda.driver as cuda
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    engine = trt.Runtime(logger).deserialize_cuda_engine(engine_path.read_bytes())
    if engine is None:
        raise RuntimeError(f"{engine_path} does not deserialize: it was built for another GPU or TensorRT version.")
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inp = next(n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
    out = next(n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
    context.set_input_shape(inp, (1, *batch.shape[1:]))
    out_host = np.empty(tuple(context.get_tensor_shape(out)), dtype=np.float32)
    d_in, d_out = cuda.mem_alloc(batch[:1].nbytes), cuda.mem_alloc(out_host.nbytes)
    context.set_tensor_address(inp, int(d_in))
    context.set_tensor_address(out, int(d_out))
    stream = cuda.Stream()

    def infer(x: np.ndarray) -> np.ndarray:
        cuda.memcpy_htod_async(d_in, np.ascontiguousarray(x), stream)
        context.execute_async_v3(stream.handle)
        cuda.memcpy_dtoh_async(out_host, d_out, stream)
        stream.synchronize()
        return out_host.copy()

    outputs = np.concatenate([infer(batch[i : i + 1]) for i in range(len(batch))])
    for _ in range(warmup):
        infer(batch[:1])
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        infer(batch[:1])
        times.append((time.perf_counter() - t) * 1e3)
    return outputs, times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Latency and sanity check of this bundle's TensorRT engine.")
    p.add_argument("--bundle", default=str(Path(__file__).resolve().parent), help="bundle folder (default: here)")
    p.add_argument("--engine", default=None, help="engine file (default: BUNDLE/model.engine)")
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--warmup", type=int, default=100)
    args = p.parse_args(argv)
    bundle = Path(args.bundle)
    engine = Path(args.engine) if args.engine else bundle / "model.engine"
    if missing := missing_modules():
        print(
            f"error: this script needs {'; '.join(missing)}. Or time the engine with trtexec instead: "
            "README.md's TensorRT section gives the command (bundle.json: tensorrt.trtexec_latency).",
            file=sys.stderr,
        )
        return 2
    if not engine.is_file():
        print(f"error: {engine} is missing; build it first with `python build_engine.py`.", file=sys.stderr)
        return 2
    ref = np.load(bundle / "reference.npz")
    outputs, times = run_engine(engine, ref["inputs"], args.runs, args.warmup)
    agree = float((outputs.argmax(1) == ref["logits"].argmax(1)).mean())
    report = {
        "engine": str(engine),
        "latency_ms": {"median": float(np.median(times)), "p90": float(np.percentile(times, 90)), "runs": args.runs},
        "top1_agreement_with_fp32": agree,
        "max_abs_diff_vs_fp32": float(np.abs(outputs - ref["logits"]).max()),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
