"""Supernet training: DεpS and its baselines (OFA, BigNAS, CompOFA) on one trainer."""

from ofa_edge.train.config import TrainConfig
from ofa_edge.train.trainer import Trainer

__all__ = ["TrainConfig", "Trainer"]
