"""PyTorch backend: eager on CPU/CUDA, or CUDA-graph replay (launch overhead removed)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ofa_edge.latency.backends.base import Backend, Timer, time_calls


class TorchBackend(Backend):
    """Times ``module(x)`` under ``inference_mode``; on CUDA each sample is one CUDA-event pair."""

    def __init__(
        self, device: str = "cuda", cuda_graphs: bool = True, precision: str = "fp16", threads: int = 1
    ) -> None:
        self.device = device
        self.cuda_graphs = cuda_graphs and device == "cuda"
        self.precision = precision
        self.threads = threads
        self.name = "torch-cuda-graphs" if self.cuda_graphs else f"torch-eager-{device}"

    def absent(self) -> str | None:
        if self.device == "cuda" and not torch.cuda.is_available():
            return (
                f"torch {torch.__version__} sees no CUDA GPU here; run on the GPU machine, with a CUDA build "
                "of torch (pip install torch --index-url https://download.pytorch.org/whl/cu130)"
            )
        if self.precision == "int8":
            return "int8 timing needs a quantized model; ofa-edge times fp32/fp16 only"
        return None

    def version(self) -> str:
        cuda = f"+cuda{torch.version.cuda}" if self.device == "cuda" else ""
        return f"{torch.__version__}{cuda}"

    def accelerator(self) -> str | None:
        return torch.cuda.get_device_name() if self.device == "cuda" else None

    def prepare(self, model: nn.Module | bytes, input_shape: tuple[int, ...]) -> Timer:
        if isinstance(model, bytes | bytearray):
            raise TypeError("the torch backend times nn.Modules, not ONNX bytes")
        dtype = torch.float16 if self.precision == "fp16" else torch.float32
        model = model.to(self.device, dtype).eval()
        x = torch.randn(*input_shape, device=self.device, dtype=dtype)
        if self.device != "cuda":

            def cpu_timer(warmup: int, repeats: int) -> np.ndarray:
                before = torch.get_num_threads()  # the caller's, given back: the setting is process-wide
                torch.set_num_threads(self.threads)
                try:
                    with torch.inference_mode():
                        return time_calls(lambda: model(x), warmup, repeats)
                finally:
                    torch.set_num_threads(before)

            return cpu_timer
        with torch.inference_mode():
            call = lambda: model(x)
            if self.cuda_graphs:
                call = _capture(model, x)
        return lambda warmup, repeats: _time_cuda(call, warmup, repeats)


def _capture(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    """A CUDA graph of ``model(x)``; the returned replay keeps everything the graph points at alive.

    The graph bakes in the addresses of the weights and the input, so they live as long as the
    replay does. Each graph gets its own capture stream: PyTorch keys cuBLAS workspaces by the
    capture stream and frees them when any graph of that stream is destroyed, which left other
    live graphs replaying into freed memory (cudaErrorIllegalAddress, pytorch/pytorch#193402).
    """
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):  # warm up (cuDNN algorithm choice) before the capture
        for _ in range(3):
            model(x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=stream):
        model(x)
    keep = (model, x, stream, graph)

    def replay() -> None:
        keep[3].replay()

    return replay


def _time_cuda(call: Callable[[], object], warmup: int, repeats: int) -> np.ndarray:
    """Per-call GPU time from a pair of CUDA events around each call."""
    with torch.inference_mode():
        for _ in range(warmup):
            call()
        start = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
        end = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
        torch.cuda.synchronize()
        for s, e in zip(start, end, strict=True):
            s.record()
            call()
            e.record()
        torch.cuda.synchronize()
    return np.array([s.elapsed_time(e) for s, e in zip(start, end, strict=True)])
