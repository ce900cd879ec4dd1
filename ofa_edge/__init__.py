"""ofa-edge: one once-for-all supernet, many edge devices.

from ofa_edge import SearchSpace, SubnetConfig, Supernet, LatencyTable, load_supernet

The names below are imported on first use, so ``import ofa_edge`` (and the ``ofa-edge`` command's
start) does not pay for torch until something needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ofa_edge.errors import UserError
from ofa_edge.lazy import lazy_exports

if TYPE_CHECKING:
    from ofa_edge.latency.table import LatencyTable
    from ofa_edge.space import CostModel, SearchSpace, SubnetConfig
    from ofa_edge.supernet import Supernet
    from ofa_edge.supernet.checkpoint import load_supernet, save_supernet

_LAZY = {
    "CostModel": "ofa_edge.space",
    "LatencyTable": "ofa_edge.latency.table",
    "SearchSpace": "ofa_edge.space",
    "SubnetConfig": "ofa_edge.space",
    "Supernet": "ofa_edge.supernet",
    "load_supernet": "ofa_edge.supernet.checkpoint",
    "save_supernet": "ofa_edge.supernet.checkpoint",
}

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
__getattr__ = lazy_exports(__name__, _LAZY)
