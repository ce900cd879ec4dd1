"""Datasets: decode once into uint8 tensors, augment and normalise on the training device."""

from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.packed_jpeg import DEFAULT_ROOT, ImageSet, load_packed

__all__ = ["DEFAULT_ROOT", "ImageSet", "load_dataset", "load_packed"]
