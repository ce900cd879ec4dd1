"""Datasets on disk, decoded once into uint8 tensors: four formats behind :func:`load_dataset`.

Formats (detected from the folder's content):

* packed JPEG (``train.jpg.bin`` + offsets + labels + ``classes.txt``) via :func:`load_packed`;
* CIFAR-10/100 **binary** versions (``cifar-10-batches-bin``, ``cifar-100-binary``), read as raw
  bytes;
* torchvision's CIFAR-10/100 folders (``cifar-10-batches-py``, ``cifar-100-python``): pickles,
  walked as data and never unpickled (:mod:`ofa_edge.data.cifar_python`);
* an ImageFolder tree ``ROOT/<split>/<class>/<image>`` (any Pillow-readable image), resized
  (shorter side) and centre-cropped to one size at decode time.

``limit`` takes a seeded, class-balanced subset (:func:`ofa_edge.data.subset.balanced_subset`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ofa_edge.data.cifar_python import load_cifar_python
from ofa_edge.data.formats import (
    CIFAR_BIN,
    IMAGE_EXT,
    cifar_bin_dir,
    cifar_split_files,
    dataset_splits,
    detect_format,
    find_cifar_python,
    imagefolder_classes,
    imagefolder_images,
    resolve_split,
)
from ofa_edge.data.packed_jpeg import ImageSet, load_packed
from ofa_edge.data.preprocess import fit_square
from ofa_edge.data.subset import subset_index
from ofa_edge.errors import UserError


def load_dataset(
    root: str | Path, split: str, *, limit: int | None = None, seed: int = 0, size: int = 32, balanced: bool = True
) -> ImageSet:
    """Load ``split`` of the dataset at ``root`` as uint8 images (``size`` for ImageFolder trees; ``test`` is
    their ``val/`` where there is no ``test/``, and the set's ``split`` says so); ``limit`` takes a class-balanced
    subset, or with ``balanced=False`` a uniform random one."""
    root = Path(root)
    fmt = detect_format(root)
    split = resolve_split(root, fmt, split)
    splits = dataset_splits(root, fmt)
    if split not in splits:
        raise UserError(_unknown_split(root, fmt, split, splits))
    if fmt == "packed":
        data = load_packed(root, split, limit=limit, seed=seed, balanced=balanced)
    elif fmt == "cifar-bin":
        data = _load_cifar_bin(cifar_bin_dir(root), split)  # type: ignore[arg-type]
    elif fmt == "cifar-py":
        data = load_cifar_python(*find_cifar_python(root), split)  # type: ignore[misc]
    else:
        data = _load_imagefolder(root, split, size)
    if limit is not None and fmt != "packed":
        data = data.subset(subset_index(data.labels.numpy(), limit, seed, balanced))
    if len(data) == 0:
        raise UserError(f"split '{split}' of '{root}' holds no images.")
    low, high = int(data.labels.min()), int(data.labels.max())
    if low < 0 or high >= len(data.classes):
        raise UserError(
            f"split '{split}' of '{root}' has labels {low} to {high}, but its class list names {len(data.classes)} "
            "classes; fix the class names file (classes.txt, batches.meta.txt or meta) so it lists every class."
        )
    return data


def _unknown_split(root: Path, fmt: str, split: str, splits: list[str]) -> str:
    """Why ``split`` is not in the dataset at ``root``; for an ImageFolder tree, the layout it needs."""
    if fmt != "imagefolder":
        return f"unknown split '{split}'; the dataset '{root}' has {', '.join(splits)}."
    if root.name in ("train", "val", "test") and (root.parent / "train").is_dir():
        return f"'{root}' is the {root.name}/ split of the ImageFolder tree '{root.parent}': pass {root.parent}."
    other = "" if split == "train" else f" and {root}/{split}/<class>/<image>{' (or val/)' * (split == 'test')}"
    layout = f"an ImageFolder tree needs {root}/train/<class>/<image>{other}"
    flat = [s for s in splits if any(p.suffix.lower() in IMAGE_EXT for p in (root / s).iterdir())]
    if flat:
        return (
            f"'{root}' holds images directly in {', '.join(flat[:3])}{', ...' if len(flat) > 3 else ''}: it looks "
            f"like class folders without splits, but {layout}. Move the class folders into train/"
            + ("." if split == "train" else f" (and a share of their images into {split}/).")
        )
    return f"'{root}' has no split '{split}' (it has {', '.join(splits)}); {layout}."


def _load_cifar_bin(folder: Path, split: str) -> ImageSet:
    train_files, test_files, label_bytes, names_file = CIFAR_BIN[folder.name]
    files = cifar_split_files(train_files, test_files, split)
    record = label_bytes + 3072
    chunks = []
    for name in files:
        path = folder / name
        if not path.is_file():
            raise UserError(f"CIFAR file '{path}' is missing; re-extract the binary archive.")
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % record:
            raise UserError(f"'{path}' is malformed: {raw.size} bytes is not a multiple of the {record}-byte record.")
        chunks.append(raw.reshape(-1, record))
    rows = np.concatenate(chunks)
    images = torch.from_numpy(rows[:, label_bytes:].reshape(-1, 3, 32, 32).copy())
    labels = torch.from_numpy(rows[:, label_bytes - 1].astype(np.int64))  # fine label is the last label byte
    names_path = folder / names_file
    classes = names_path.read_text().split() if names_path.is_file() else [str(i) for i in range(int(labels.max()) + 1)]
    return ImageSet(images, labels, classes, split)


def _load_imagefolder(root: Path, split: str, size: int) -> ImageSet:
    base = root / split
    classes = imagefolder_classes(base)
    if not classes:
        raise UserError(f"'{base}' holds no class folders; expected {base}/<class>/<image>.")
    images, labels = [], []
    for ci, path in imagefolder_images(base):
        try:
            img = Image.open(path).convert("RGB")
        except OSError as e:
            raise UserError(f"'{path}' is not a readable image ({e}).") from None
        images.append(np.asarray(fit_square(img, size)))
        labels.append(ci)
    present = set(labels)
    empty = [cls for ci, cls in enumerate(classes) if ci not in present]
    if empty:
        many = len(empty) > 1
        raise UserError(
            f"class folder{'s' * many} {', '.join(empty[:6])} in '{base}' hold{'s' * (not many)} no images"
            f" with extensions {sorted(IMAGE_EXT)}: the network would predict a class it never saw. Add "
            "images, or remove the folder from every split."
        )
    arr = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return ImageSet(arr, torch.tensor(labels, dtype=torch.int64), classes, split)
