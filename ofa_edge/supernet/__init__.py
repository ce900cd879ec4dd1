"""The weight-shared supernet, its static layers, checkpoints and BN recalibration."""

from ofa_edge.supernet.network import Supernet

__all__ = ["Supernet"]
