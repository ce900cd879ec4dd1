"""Per-device latency lookup tables: keys, measurement backends, profiling, prediction."""

from ofa_edge.latency.devices import Device, known_devices, load_device, table_path
from ofa_edge.latency.table import LatencyTable, estimated_warning

__all__ = ["Device", "LatencyTable", "estimated_warning", "known_devices", "load_device", "table_path"]
