"""Supernet training: DεpS and its baselines (OFA, BigNAS, CompOFA) on one trainer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ofa_edge.lazy import lazy_exports

if TYPE_CHECKING:
    from ofa_edge.train.config import TrainConfig
    from ofa_edge.train.trainer import Trainer

__all__ = ["TrainConfig", "Trainer"]
__getattr__ = lazy_exports(__name__, {"TrainConfig": "ofa_edge.train.config", "Trainer": "ofa_edge.train.trainer"})
