"""Latency measurement backends behind one interface (:class:`Backend`).

The GPU backends (torch, TensorRT) import torch, so they are imported when a device asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ofa_edge.errors import UserError
from ofa_edge.latency.backends.base import Backend
from ofa_edge.latency.backends.onnxruntime_backend import OnnxRuntimeBackend
from ofa_edge.latency.devices import Device, as_device, find_table_path, host_arch, known_devices, load_device
from ofa_edge.latency.table import LatencyTable
from ofa_edge.lazy import lazy_exports

if TYPE_CHECKING:
    from ofa_edge.latency.backends.tensorrt_backend import TensorRTBackend
    from ofa_edge.latency.backends.torch_backend import TorchBackend


def backend_for(device: Device, threads: int | None = None) -> Backend:
    """The backend a device's file names, configured from it (not checked for presence)."""
    threads = threads or device.threads
    if device.runtime == "onnxruntime":
        return OnnxRuntimeBackend(device.provider or "cpu", threads, device.precision, device.clock)
    if device.runtime == "torch":
        from ofa_edge.latency.backends.torch_backend import TorchBackend

        return TorchBackend("cuda", device.cuda_graphs, device.precision, threads)
    from ofa_edge.latency.backends.tensorrt_backend import TensorRTBackend

    return TensorRTBackend(device.precision)


def why_not_here(device: Device, threads: int | None = None) -> str | None:
    """Why ``device`` cannot be timed on this machine with ``threads`` (another CPU architecture, more than
    one thread on a thread_cpu clock, its runtime absent, another GPU model); ``None`` when it can.
    :func:`require_backend` raises it with its fix."""
    try:
        _usable_backend(device, threads)
    except _NotHere as e:
        return e.why
    return None


def require_backend(device: Device | str | Path, threads: int | None = None) -> Backend:
    """:func:`backend_for` ``device`` (or the device a name or YAML file names), raising a :class:`UserError` when it
    cannot run here, or when the device names a CPU architecture (``arch:``) or GPU model (``accelerator:``) other
    than this machine's."""
    try:
        return _usable_backend(as_device(device), threads)
    except _NotHere as e:
        raise UserError(e.fix()) from None


class _NotHere(Exception):
    """Why a device cannot be timed here (``why``), and how to write that with what to do instead (``fix``,
    built only when asked: it may read every device file)."""

    def __init__(self, why: str, fix: Callable[[], str] | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.fix = fix or (lambda: why)


def _usable_backend(device: Device, threads: int | None) -> Backend:
    """:func:`backend_for` ``device``, raising :class:`_NotHere` when this machine cannot time it with ``threads``."""
    wrong_host = device.arch_mismatch(host_arch())
    if wrong_host:
        raise _NotHere(wrong_host)  # the architecture's message names its fixes
    if device.clock == "thread_cpu" and (threads or device.threads) != 1:
        raise _NotHere(
            f"device '{device.name}' times one thread's CPU time (clock: thread_cpu), so it runs 1 thread; drop "
            "--threads, or describe a device with `clock: wall` and the threads you want."
        )
    backend = backend_for(device, threads)
    absent = backend.absent()
    if absent:
        raise _NotHere(
            absent,
            lambda: (
                f"device '{device.name}' is measured with {backend.name}, which cannot run on this machine: {absent}. "
                f"Profile on the device itself (or with --ssh user@host), {_instead_of_profiling(device)}."
            ),
        )
    found = backend.accelerator()
    other = device.accelerator_mismatch(found)
    if other:
        raise _NotHere(
            other, lambda: f"{other}: its numbers would be another GPU's. {_profile_this_gpu(device, found)}"
        )
    return backend


def _instead_of_profiling(device: Device) -> str:
    """The table to use where ``device`` cannot be timed: the measured one search reads, if any (an estimate in
    your folder would hide it, so ``--estimate`` refuses to write one), else an estimate."""
    path = find_table_path(device)
    try:
        measured = path.is_file() and not LatencyTable.load(path).estimated
    except UserError:  # partial or unreadable: not one to search with
        measured = False
    if measured:
        return f"or search with its measured table as it is ({path})"
    return f"or use the estimated table (`ofa-edge profile --device {device.name} --estimate`)"


def _profile_this_gpu(device: Device, found: str | None) -> str:
    """What to do when ``device`` names another GPU than the one ``found`` here: a shipped device of this GPU, if any."""
    gpus = [load_device(d) for d in known_devices() if d != device.name]
    here = [d.name for d in gpus if d.accelerator and d.accelerator_mismatch(found) is None]
    own = (
        f"--device {here[0]}"
        if here
        else "a device of its own (a <name>.yaml in your devices folder with its `accelerator:`)"
    )
    return f"Time it on that GPU, or profile this one as {own}."


def table_backend(device: Device, table: LatencyTable) -> tuple[Backend, int]:
    """:func:`require_backend` with the threads ``table`` was measured with, and its batch size
    (its provenance; the device file's where that is silent): to time next to its numbers."""
    threads = table.provenance.get("threads") or device.threads
    return require_backend(device, threads), table.provenance.get("batch") or device.batch


__all__ = [
    "Backend", "OnnxRuntimeBackend", "TensorRTBackend", "TorchBackend", "backend_for", "require_backend", "table_backend",
    "why_not_here",
]  # fmt: skip
__getattr__ = lazy_exports(
    __name__,
    {"TensorRTBackend": f"{__name__}.tensorrt_backend", "TorchBackend": f"{__name__}.torch_backend"},
)
