"""The one interface every latency backend implements, and what they share."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ofa_edge.onnx_bridge import torch_to_onnx

if TYPE_CHECKING:
    from torch import nn

Timer = Callable[[int, int], np.ndarray]


class Backend(ABC):
    """Times a network (an ``nn.Module`` or ONNX bytes) at batch-1-style fixed input shapes.

    ``absent()`` returns ``None`` when the backend can run here, else why not and how to
    install what is missing; a backend that is absent is never faked.
    """

    name: str = "backend"
    clock_name: str = "wall"

    @abstractmethod
    def absent(self) -> str | None:
        """``None`` if usable here, else the reason and the install hint."""

    @abstractmethod
    def version(self) -> str:
        """The runtime's version string, for provenance."""

    def accelerator(self) -> str | None:
        """The GPU (or other accelerator) model the backend runs on, if any."""
        return None

    def settings(self) -> tuple:
        """Its class and configuration (attributes): two backends with the same settings prepare a network alike."""
        return (type(self).__name__, *sorted(vars(self).items()))

    def takes_fp32_onnx(self) -> bool:
        """Whether :meth:`prepare` times an FP32 ONNX export of the network (bytes, any input name, exported for its
        ``input_shape``) as the one it would export itself: a caller that holds one hands it over, saving an export."""
        return False

    @abstractmethod
    def prepare(self, model: nn.Module | bytes, input_shape: tuple[int, ...]) -> Timer:
        """Build whatever runs the network (session, engine, CUDA graph) once; return a timer
        ``timer(warmup, repeats) -> latencies in ms`` that can be called again later. ONNX bytes are timed as they
        are: in this backend's precision, or FP32 where :meth:`takes_fp32_onnx`."""


CLOCKS: dict[str, Callable[[], int]] = {"wall": time.perf_counter_ns, "thread_cpu": time.thread_time_ns}


def time_calls(call: Callable[[], object], warmup: int, repeats: int, clock_name: str = "wall") -> np.ndarray:
    """Time each of ``repeats`` calls (after ``warmup``); ms.

    ``wall`` is ``perf_counter_ns``. ``thread_cpu`` is the calling thread's CPU time: when the
    runtime computes on the calling thread only (one thread), it is the latency the call would
    have on a core of its own, unaffected by other jobs preempting it on a shared host.
    """
    for _ in range(warmup):
        call()
    out = np.empty(repeats)
    clock = CLOCKS[clock_name]
    for i in range(repeats):
        t0 = clock()
        call()
        out[i] = clock() - t0
    return out / 1e6


def to_onnx(model: nn.Module | bytes, input_shape: tuple[int, ...], half: bool = False) -> bytes:
    """ONNX bytes of ``model`` for one fixed input shape, in fp16 with ``half`` (TorchScript exporter: fast,
    static)."""
    if isinstance(model, bytes | bytearray):
        return bytes(model)
    import torch

    dtype = torch.float16 if half else torch.float32
    return torch_to_onnx(model.to(dtype), torch.randn(*input_shape, dtype=dtype), input_name="x", output_name="y")
