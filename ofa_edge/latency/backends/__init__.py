"""Latency measurement backends behind one interface (:class:`Backend`)."""

from __future__ import annotations

from ofa_edge.errors import UserError
from ofa_edge.latency.backends.base import Backend
from ofa_edge.latency.backends.onnxruntime_backend import OnnxRuntimeBackend
from ofa_edge.latency.backends.tensorrt_backend import TensorRTBackend
from ofa_edge.latency.backends.torch_backend import TorchBackend
from ofa_edge.latency.devices import Device, host_arch, known_devices, load_device
from ofa_edge.latency.table import LatencyTable


def backend_for(device: Device, threads: int | None = None) -> Backend:
    """The backend a device's file names, configured from it (not checked for presence)."""
    threads = threads or device.threads
    if device.runtime == "onnxruntime":
        return OnnxRuntimeBackend(device.provider or "cpu", threads, device.precision, device.clock)
    if device.runtime == "torch":
        return TorchBackend("cuda", device.cuda_graphs, device.precision, threads)
    return TensorRTBackend(device.precision)


def why_not_here(device: Device, threads: int | None = None) -> str | None:
    """Why ``device`` cannot be timed on this machine with ``threads`` (another CPU architecture, more than
    one thread on a thread_cpu clock, its runtime absent, another GPU model); ``None`` when it can. :func:`require_backend` raises it with its fix."""
    found = _obstacle(device, threads)
    return found[0] if found else None


def _obstacle(device: Device, threads: int | None) -> tuple[str, str] | None:
    """(why this machine cannot time ``device`` with ``threads``, that and what to do instead), or ``None``."""
    wrong_host = device.arch_mismatch(host_arch())
    if wrong_host:
        return wrong_host, wrong_host  # the architecture's message names its fixes
    if device.clock == "thread_cpu" and (threads or device.threads) != 1:
        one = (
            f"device '{device.name}' times one thread's CPU time (clock: thread_cpu), so it runs 1 thread; drop "
            "--threads, or describe a device with `clock: wall` and the threads you want."
        )
        return one, one
    backend = backend_for(device, threads)
    why = backend.absent()
    if why:
        return why, (
            f"device '{device.name}' is measured with {backend.name}, which cannot run on this machine: {why}. "
            f"Profile on the device itself (or with --ssh user@host), or use the estimated table "
            f"(`ofa-edge profile --device {device.name} --estimate`)."
        )
    found = backend.accelerator()
    other = device.accelerator_mismatch(found)
    if other:
        gpus = [load_device(d) for d in known_devices() if d != device.name]
        here = [d.name for d in gpus if d.accelerator and d.accelerator_mismatch(found) is None]
        return other, (
            f"{other}: its numbers would be another GPU's. Time it on that GPU, or profile this one as "
            + (
                f"--device {here[0]}"
                if here
                else "a device of its own (a <name>.yaml in your devices folder with its `accelerator:`)"
            )
            + "."
        )
    return None


def require_backend(device: Device, threads: int | None = None) -> Backend:
    """:func:`backend_for`, raising a :class:`UserError` (exit 2) when it cannot run here, or when the
    device names a CPU architecture (``arch:``) or GPU model (``accelerator:``) other than this machine's."""
    found = _obstacle(device, threads)
    if found:
        raise UserError(found[1])
    return backend_for(device, threads)


def table_backend(device: Device, table: LatencyTable) -> tuple[Backend, int]:
    """:func:`require_backend` with the threads ``table`` was measured with, and its batch size
    (its provenance; the device file's where that is silent): to time next to its numbers."""
    threads = table.provenance.get("threads") or device.threads
    return require_backend(device, threads), table.provenance.get("batch") or device.batch


__all__ = [
    "Backend", "OnnxRuntimeBackend", "TensorRTBackend", "TorchBackend", "backend_for", "require_backend", "table_backend",
    "why_not_here",
]  # fmt: skip
