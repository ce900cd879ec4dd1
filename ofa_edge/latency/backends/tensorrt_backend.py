"""TensorRT backend through its Python API: one engine per network, built from ONNX.

TensorRT 10 builds weakly typed networks where ``BuilderFlag.FP16`` lets it pick FP16
kernels; TensorRT 11 drops those precision flags and only builds strongly typed networks,
so there the ONNX graph itself is exported in FP16. Buffers are torch CUDA tensors (no pycuda).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ofa_edge.latency.backends.base import Backend, Timer, to_onnx

INSTALL = "pip install tensorrt (x86 + NVIDIA GPU), or use JetPack's python3-libnvinfer on a Jetson"


class TensorRTBackend(Backend):
    """TensorRT engines built from ONNX at ``precision`` and timed with CUDA events (GPU and Jetson)."""

    name = "tensorrt"

    def __init__(self, precision: str = "fp16", workspace_mb: int = 1024) -> None:
        self.precision = precision
        self.workspace_mb = workspace_mb

    def absent(self) -> str | None:
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            return f"TensorRT's Python package is not installed here ({INSTALL})"
        if not torch.cuda.is_available():
            return "TensorRT needs an NVIDIA GPU and a CUDA build of torch; none is visible here"
        if self.precision == "int8":
            return "int8 engines need calibration data; ofa-edge times fp32/fp16 engines only"
        return None

    def version(self) -> str:
        import tensorrt as trt

        return trt.__version__

    def accelerator(self) -> str | None:
        return torch.cuda.get_device_name() if torch.cuda.is_available() else None

    def _major(self) -> int:
        import tensorrt as trt

        return int(trt.__version__.split(".")[0])

    def build_engine(self, onnx_bytes: bytes) -> bytes:
        """Serialized engine for the ONNX graph at this backend's precision."""
        import tensorrt as trt

        logger = trt.Logger(trt.Logger.ERROR)
        builder = trt.Builder(logger)
        flags = 0
        if self._major() >= 11:
            flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(onnx_bytes):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT could not parse the ONNX graph: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, self.workspace_mb << 20)
        if self.precision == "fp16" and self._major() < 11:
            config.set_flag(trt.BuilderFlag.FP16)
        engine = builder.build_serialized_network(network, config)
        if engine is None:
            raise RuntimeError("TensorRT failed to build an engine (see its log above)")
        return bytes(engine)

    def _strongly_fp16(self) -> bool:
        """Whether the ONNX graph itself must be FP16 (TensorRT 11 at fp16); TensorRT 10 takes FP32 and a flag."""
        return self.precision == "fp16" and self._major() >= 11

    def takes_fp32_onnx(self) -> bool:
        return not self._strongly_fp16()

    def prepare(self, model: nn.Module | bytes, input_shape: tuple[int, ...]) -> Timer:
        import tensorrt as trt

        onnx_bytes = to_onnx(model, input_shape, half=self._strongly_fp16())
        engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(self.build_engine(onnx_bytes))
        context = engine.create_execution_context()
        buffers = []  # kept alive by the timer's closure
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            dtype = torch.float16 if engine.get_tensor_dtype(name) == trt.DataType.HALF else torch.float32
            t = torch.randn(tuple(engine.get_tensor_shape(name)), device="cuda", dtype=dtype)
            context.set_tensor_address(name, t.data_ptr())
            buffers.append(t)
        stream = torch.cuda.Stream()

        def timer(warmup: int, repeats: int) -> np.ndarray:
            _ = (engine, buffers)  # the engine and I/O buffers live as long as the timer
            handle = stream.cuda_stream
            with torch.cuda.stream(stream):
                for _ in range(warmup):
                    context.execute_async_v3(handle)
                events = [
                    (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(repeats)
                ]
                for s, e in events:
                    s.record(stream)
                    context.execute_async_v3(handle)
                    e.record(stream)
            stream.synchronize()
            return np.array([s.elapsed_time(e) for s, e in events])

        return timer
