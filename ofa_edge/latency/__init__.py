"""Per-device latency lookup tables: keys, measurement backends, profiling, prediction."""

from ofa_edge.latency.table import LatencyTable

__all__ = ["LatencyTable"]
