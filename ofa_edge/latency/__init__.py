"""Per-device latency lookup tables: keys, measurement backends, profiling, prediction."""

from ofa_edge.latency.devices import Device, find_table_path, known_devices, load_device, table_path
from ofa_edge.latency.table import LatencyTable, estimated_warning, table_for_device

__all__ = [
    "Device",
    "LatencyTable",
    "estimated_warning",
    "find_table_path",
    "known_devices",
    "load_device",
    "table_for_device",
    "table_path",
]
