"""ONNX Runtime backend: CPU, XNNPACK, CUDA and TensorRT execution providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ofa_edge.latency.backends.base import Backend, Timer, time_calls, to_onnx

if TYPE_CHECKING:
    from torch import nn

PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "xnnpack": "XnnpackExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}
INSTALL = {
    "cpu": "pip install onnxruntime",
    "xnnpack": "use an onnxruntime build with XNNPACK (the Android/iOS packages, or build with --use_xnnpack)",
    "cuda": "pip install onnxruntime-gpu (needs an NVIDIA GPU with CUDA 12)",
    "tensorrt": "pip install onnxruntime-gpu tensorrt (needs an NVIDIA GPU)",
}


class OnnxRuntimeBackend(Backend):
    """Runs each network in its own ``InferenceSession`` with all graph optimizations on."""

    def __init__(self, provider: str = "cpu", threads: int = 1, precision: str = "fp32", clock: str = "wall") -> None:
        self.provider = provider
        self.threads = threads
        self.precision = precision
        self.clock_name = clock
        self.name = f"onnxruntime-{provider}"

    def absent(self) -> str | None:
        try:
            import onnxruntime as ort
        except ImportError:
            return f"onnxruntime is not installed ({INSTALL['cpu']})"
        if PROVIDERS[self.provider] not in ort.get_available_providers():
            return (
                f"onnxruntime {ort.__version__} here has no {PROVIDERS[self.provider]} "
                f"(available: {', '.join(ort.get_available_providers())}); {INSTALL[self.provider]}"
            )
        if self.clock_name == "thread_cpu" and (self.threads != 1 or self.provider != "cpu"):
            return "the thread_cpu clock needs the CPU provider with 1 thread (all work on the calling thread)"
        if self.precision == "int8":
            return "int8 timing needs a quantized model; ofa-edge times fp32/fp16 only"
        if self.precision == "fp16" and self.provider in ("cpu", "xnnpack"):
            return f"fp16 is not a useful precision on {self.name}; use fp32 in the device file"
        return None

    def version(self) -> str:
        import onnxruntime as ort

        return ort.__version__

    def accelerator(self) -> str | None:
        import torch

        if self.provider in ("cuda", "tensorrt") and torch.cuda.is_available():
            return torch.cuda.get_device_name()
        return None

    def session(self, onnx_bytes: bytes):  # -> onnxruntime.InferenceSession
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        provider: str | tuple[str, dict] = PROVIDERS[self.provider]
        if self.provider == "xnnpack":
            provider = (provider, {"intra_op_num_threads": self.threads})
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        elif self.provider == "tensorrt":
            provider = (provider, {"trt_fp16_enable": self.precision == "fp16"})
        fallback = [] if self.provider == "cpu" else ["CPUExecutionProvider"]
        return ort.InferenceSession(onnx_bytes, so, providers=[provider, *fallback])

    def _half(self) -> bool:
        """Whether the graph itself runs in FP16 (CUDA provider); TensorRT's provider takes FP32 graphs and a flag."""
        return self.precision == "fp16" and self.provider == "cuda"

    def takes_fp32_onnx(self) -> bool:
        return not self._half()

    def prepare(self, model: nn.Module | bytes, input_shape: tuple[int, ...]) -> Timer:
        half = self._half()
        sess = self.session(to_onnx(model, input_shape, half=half))
        x = np.random.default_rng(0).standard_normal(input_shape).astype(np.float16 if half else np.float32)
        feed = {sess.get_inputs()[0].name: x}  # "x" in its own export; any name in one handed over
        return lambda warmup, repeats: time_calls(lambda: sess.run(None, feed), warmup, repeats, self.clock_name)
