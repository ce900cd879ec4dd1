"""Packed JPEG datasets (the CIFAR-10 layout in ``shared/data/cifar10-jpeg``).

A split is ``<split>.jpg.bin`` (concatenated JPEGs), ``<split>.offsets.npy`` (N+1 int64
offsets) and ``<split>.labels.npy`` (uint8), plus ``classes.txt``. Images are decoded once
into one uint8 tensor ``(N, 3, H, W)``; augmentation happens later on the training device.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ofa_edge.data.subset import subset_index
from ofa_edge.errors import UserError, option_name


@dataclass
class ImageSet:
    """Decoded images (uint8, N x 3 x H x W), labels (int64), class names, and the split of the dataset they were
    read from (``val`` where ``test`` was asked of an ImageFolder tree without ``test/``): what a message names."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    split: str

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray | torch.Tensor | slice) -> ImageSet:
        """The images at ``index``, with the same class names and split."""
        return ImageSet(self.images[index], self.labels[index], self.classes, self.split)

    def shuffled(self, seed: int) -> ImageSet:
        """The same images in a seeded random order: what batch-norm recalibration needs, whose every batch
        should mix the classes (a dataset stored class by class, like CIFAR-10's packed files or an
        ImageFolder tree, gives one-class batches in file order)."""
        return self.subset(torch.from_numpy(np.random.default_rng(seed).permutation(len(self))))


def _require(path: Path, what: str) -> None:
    if not path.is_file():
        raise UserError(
            f"dataset file '{path}' is missing ({what}). Point {option_name('data')} at a packed JPEG folder "
            "(train.jpg.bin, train.offsets.npy, train.labels.npy, classes.txt), a torchvision CIFAR folder "
            "or an ImageFolder tree."
        )


def load_packed(
    root: str | Path, split: str = "train", limit: int | None = None, seed: int = 0, balanced: bool = False
) -> ImageSet:
    """Decode a packed split. ``limit`` takes a seeded random subset: a uniform draw, or with
    ``balanced`` a class-balanced one (what ``--limit-train``/``--limit-val`` take)."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(
            f"dataset folder '{root}' does not exist; check the path, or pass {option_name('data')} PATH to a packed "
            "JPEG dataset."
        )
    files = {k: root / f"{split}.{k}" for k in ("jpg.bin", "offsets.npy", "labels.npy")}
    for k, p in files.items():
        _require(p, k)
    _require(root / "classes.txt", "class names")
    try:
        offsets = np.load(files["offsets.npy"], allow_pickle=False)
        labels = np.load(files["labels.npy"], allow_pickle=False)
    except ValueError as e:
        raise UserError(f"'{root}' holds a malformed offsets or labels file ({e}).") from None
    if offsets.ndim != 1 or len(offsets) != len(labels) + 1:
        raise UserError(f"'{root}': {split}.offsets.npy must hold len(labels)+1 = {len(labels) + 1} offsets.")
    classes = (root / "classes.txt").read_text().split()
    index = np.arange(len(labels)) if limit is None else subset_index(labels, limit, seed, balanced)
    blob = np.memmap(files["jpg.bin"], dtype=np.uint8, mode="r")
    if offsets[-1] > len(blob):
        raise UserError(f"'{files['jpg.bin']}' is truncated: {len(blob)} bytes, offsets need {offsets[-1]}.")
    images = []
    for i in index:
        try:
            img = Image.open(io.BytesIO(blob[offsets[i] : offsets[i + 1]].tobytes())).convert("RGB")
        except OSError as e:
            raise UserError(f"image {i} of '{files['jpg.bin']}' is not a decodable JPEG ({e}).") from None
        images.append(np.asarray(img))
    arr = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return ImageSet(arr, torch.from_numpy(labels[index].astype(np.int64)), classes, split)
