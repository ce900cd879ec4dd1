"""Measure a network end to end on this machine, the way its device's table was measured.

Used to put a measured number next to the table's prediction when the target is the local
machine: the device's backend (runtime, clock) times the network with the table's threads and
batch size, in rounds against the machine-speed reference the table was measured with (if
any, see ``latency/drift.py``), so the number is on the table's scale; weights do not change
latency. ``ofa-edge search`` times the chosen subnet, ``ofa-edge prune`` the unpruned and the
pruned network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ofa_edge.latency.backends import table_backend
from ofa_edge.latency.blocks import build_subnet
from ofa_edge.latency.devices import load_device
from ofa_edge.latency.drift import HOLDS, SpeedReference, same_cpu, timed_rounds
from ofa_edge.latency.stats import robust_stats
from ofa_edge.latency.table import LatencyTable
from ofa_edge.space.config import SubnetConfig

if TYPE_CHECKING:
    from torch import nn


class DeviceTimer:
    """Times networks on this machine the way ``table`` was measured: its device's backend with the
    table's threads and batch size, in rounds against the table's speed reference.
    The backend and the reference are set up once, for every network timed after."""

    def __init__(self, table: LatencyTable) -> None:
        self.device = load_device(table.device)
        self.backend, self.batch = table_backend(self.device, table)
        self.reference = SpeedReference.of_table(self.backend, table, self.batch)
        self.same_cpu = same_cpu(table.provenance)

    def __call__(self, model: nn.Module, resolution: int, onnx: bytes | None = None) -> dict:
        """Robust statistics (ms) of ``model``'s latency at ``resolution``. ``onnx``: the caller's FP32 export of
        ``model`` for batch 1, timed instead of the backend's own export where it is the same (batch 1, a backend
        that :meth:`~ofa_edge.latency.backends.base.Backend.takes_fp32_onnx`)."""
        dev, backend = self.device, self.backend
        ready = onnx is not None and self.batch == 1 and backend.takes_fp32_onnx()
        timer = backend.prepare(onnx if ready else model, (self.batch, 3, resolution, resolution))
        first = len(self.reference.readings) if self.reference is not None else 0
        samples = timed_rounds([timer], dev.warmup, dev.repeats, self.reference)[0]
        stats = robust_stats(samples)
        speed = {}
        if self.reference is not None:  # the readings around this network's rounds
            speed["speed_factor"] = float(np.median(self.reference.readings[first:]))
        return {
            "median_ms": stats["median"],
            "mean_ms": stats["mean"],
            "std_ms": stats["std"],
            "runs": len(samples),
            "backend": f"{backend.name} {backend.version()} ({backend.clock_name} clock)",
            "speed_reference": self.reference is not None,
            "same_cpu": self.same_cpu,  # False: the table is another CPU's, and differs by more than speed
            **speed,  # this machine's latency now / the table's scale (1.4: 40 % slower than when profiled)
        }


def drift_warning(speed_factor: float | None, median_ms: float, same_cpu: bool | None = None) -> str | None:
    """What a measurement beside a prediction means: the table is another CPU's (``same_cpu`` False, as
    :class:`DeviceTimer` reports it), or this machine runs beyond ±:data:`HOLDS` of the table's speed."""
    if same_cpu is False:
        here = f"; on this machine now it runs about {speed_factor * median_ms:.3f} ms" if speed_factor else ""
        return f"the table is another CPU's (see the warning above): the two differ by more than speed{here}"
    if speed_factor is None or abs(speed_factor - 1) <= HOLDS:
        return None
    pace = f"{speed_factor:.2f}x slower" if speed_factor > 1 else f"{1 / speed_factor:.2f}x faster"
    return (
        f"this machine runs {pace} now than when the table was measured (load, clocks, or another host than the "
        f"table's): expect about {speed_factor * median_ms:.3f} ms here; `ofa-edge profile --check` tells when it "
        "holds again, `--rescale` puts the table on this speed, `--force` re-measures it"
    )


def measure_on_device(cfg: SubnetConfig, num_classes: int, table: LatencyTable) -> dict:
    """:class:`DeviceTimer` statistics of the subnet ``cfg`` (random weights)."""
    return DeviceTimer(table)(build_subnet(cfg, num_classes), cfg.resolution)
