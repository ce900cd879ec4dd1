"""The weight-shared supernet, its static layers, checkpoints and BN recalibration.

``Supernet`` is imported on first use, so reading a checkpoint's header
(:mod:`ofa_edge.supernet.metadata`) does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ofa_edge.lazy import lazy_exports

if TYPE_CHECKING:
    from ofa_edge.supernet.network import Supernet

__all__ = ["Supernet"]
__getattr__ = lazy_exports(__name__, {"Supernet": "ofa_edge.supernet.network"})
