"""Measure the chosen subnet end to end on this machine, the way its device's table was measured.

Used to put a measured number next to the table's prediction when the search targets the
local machine: the device's own backend (runtime, threads, clock) times the extracted
subnet at the table's batch size; weights do not change latency.
"""

from __future__ import annotations

from ofa_edge.latency.backends import require_backend
from ofa_edge.latency.blocks import build_subnet
from ofa_edge.latency.devices import load_device
from ofa_edge.latency.stats import robust_stats
from ofa_edge.space.config import SubnetConfig


def measure_on_device(cfg: SubnetConfig, num_classes: int, device: str) -> dict:
    """Robust statistics (ms) of the subnet's latency on ``device``'s backend, here."""
    dev = load_device(device)
    backend = require_backend(dev)
    shape = (dev.batch, 3, cfg.resolution, cfg.resolution)
    samples = backend.measure(build_subnet(cfg, num_classes), shape, dev.warmup, dev.repeats)
    stats = robust_stats(samples)
    return {
        "median_ms": stats["median"],
        "mean_ms": stats["mean"],
        "std_ms": stats["std"],
        "runs": len(samples),
        "backend": f"{backend.name} {backend.version()} ({backend.clock_name} clock)",
    }
