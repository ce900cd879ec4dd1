"""Latency measurement backends behind one interface (:class:`Backend`)."""

from __future__ import annotations

from ofa_edge.errors import UserError
from ofa_edge.latency.backends.base import Backend
from ofa_edge.latency.backends.onnxruntime_backend import OnnxRuntimeBackend
from ofa_edge.latency.backends.tensorrt_backend import TensorRTBackend
from ofa_edge.latency.backends.torch_backend import TorchBackend
from ofa_edge.latency.devices import Device, known_devices, load_device


def backend_for(device: Device, threads: int | None = None) -> Backend:
    """The backend a device's file names, configured from it (not checked for presence)."""
    threads = threads or device.threads
    if device.runtime == "onnxruntime":
        return OnnxRuntimeBackend(device.provider or "cpu", threads, device.precision, device.clock)
    if device.runtime == "torch":
        return TorchBackend("cuda", device.cuda_graphs, device.precision, threads)
    return TensorRTBackend(device.precision)


def require_backend(device: Device, threads: int | None = None) -> Backend:
    """:func:`backend_for`, raising a :class:`UserError` (exit 2) when it cannot run here, or when the
    device names a GPU model (``accelerator:``) other than this machine's."""
    backend = backend_for(device, threads)
    why = backend.absent()
    if why:
        raise UserError(
            f"device '{device.name}' is measured with {backend.name}, which cannot run on this machine: {why}. "
            f"Profile on the device itself (or with --ssh user@host), or use the estimated table "
            f"(`ofa-edge profile --device {device.name} --estimate`)."
        )
    found = backend.accelerator()
    other = device.accelerator_mismatch(found)
    if other:
        here = [
            d
            for d in known_devices()
            if d != device.name and load_device(d).accelerator and load_device(d).accelerator_mismatch(found) is None
        ]
        raise UserError(
            f"{other}: its numbers would be another GPU's. Time it on that GPU, or profile this one as "
            + (f"--device {here[0]}" if here else "a device of its own (a devices/<name>.yaml with its `accelerator:`)")
            + "."
        )
    return backend


__all__ = ["Backend", "OnnxRuntimeBackend", "TensorRTBackend", "TorchBackend", "backend_for", "require_backend"]
