"""ofa-edge: one once-for-all supernet, many edge devices.

from ofa_edge import SearchSpace, SubnetConfig, Supernet, LatencyTable, load_supernet
"""

from ofa_edge.errors import UserError
from ofa_edge.latency.table import LatencyTable
from ofa_edge.space import CostModel, SearchSpace, SubnetConfig
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.checkpoint import load_supernet, save_supernet

__all__ = [
    "CostModel",
    "LatencyTable",
    "SearchSpace",
    "SubnetConfig",
    "Supernet",
    "UserError",
    "load_supernet",
    "save_supernet",
]
__version__ = "0.1.0"
