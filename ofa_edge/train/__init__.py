"""Supernet training: DεpS and its baselines (OFA, BigNAS, CompOFA) on one trainer."""

from ofa_edge.train.trainer import TrainConfig, train

__all__ = ["TrainConfig", "train"]
