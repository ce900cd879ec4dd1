"""Datasets: decode once into uint8 tensors, augment and normalise on the training device.

``DEFAULT_ROOT`` (where CIFAR-10 is looked for) is light; the loaders are imported on first use, so a
command that only locates data does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ofa_edge.data.formats import DEFAULT_ROOT
from ofa_edge.lazy import lazy_exports

if TYPE_CHECKING:
    from ofa_edge.data.datasets import load_dataset
    from ofa_edge.data.packed_jpeg import ImageSet, load_packed

__all__ = ["DEFAULT_ROOT", "ImageSet", "load_dataset", "load_packed"]
__getattr__ = lazy_exports(
    __name__,
    {
        "ImageSet": "ofa_edge.data.packed_jpeg",
        "load_dataset": "ofa_edge.data.datasets",
        "load_packed": "ofa_edge.data.packed_jpeg",
    },
)
