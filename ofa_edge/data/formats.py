"""Where a dataset is and what it holds, read from its folder without decoding an image (and without
torch, so a command that only locates or identifies data starts fast): the default root, the format,
the splits, a split's files and its content identity.

The loaders are :func:`ofa_edge.data.datasets.load_dataset` and the modules beside it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ofa_edge.errors import UserError, option_name
from ofa_edge.paths import PACKAGE_DIR, env_path, user_data_dir


def _default_root() -> Path:
    """``$OFA_EDGE_DATA``; else, in a checkout, the project's CIFAR-10 beside it (``../shared/data/cifar10-jpeg``);
    else ``<user data>/data/cifar10-jpeg`` (``~/.local/share/ofa-edge``), where a user may put it."""
    if (given := env_path("OFA_EDGE_DATA")) is not None:
        return given
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout.parent / "shared" / "data" / "cifar10-jpeg"
    return user_data_dir() / "data" / "cifar10-jpeg"


DEFAULT_ROOT = _default_root()


CIFAR_BIN = {
    "cifar-10-batches-bin": ([f"data_batch_{i}.bin" for i in range(1, 6)], ["test_batch.bin"], 1, "batches.meta.txt"),
    "cifar-100-binary": (["train.bin"], ["test.bin"], 2, "fine_label_names.txt"),
}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm", ".tif", ".tiff"}


FOLDERS = {
    # folder: (train files, test files, label key, meta file, class-names key)
    "cifar-10-batches-py": (
        [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "labels", "batches.meta", "label_names",
    ),
    "cifar-100-python": (["train"], ["test"], "fine_labels", "meta", "fine_label_names"),
}  # fmt: skip


def require_folder(root: Path) -> None:
    """A :class:`UserError` unless the dataset folder ``root`` exists and is a folder (the default one, missing,
    says how to get CIFAR-10): what :func:`detect_format` checks first, cheap enough for any command's start."""
    data = option_name("data")
    if not root.exists() and root == DEFAULT_ROOT:
        raise UserError(
            f"no {data}, and no CIFAR-10 at the default folder '{root}' ($OFA_EDGE_DATA sets it). Pass {data} PATH "
            "to a dataset: a packed JPEG folder (train.jpg.bin ...), torchvision's CIFAR-10/100 folder "
            "(`python -c \"import torchvision; torchvision.datasets.CIFAR10('data', download=True)\"` writes "
            "data/cifar-10-batches-py), or an ImageFolder tree (ROOT/train/<class>/*.jpg)."
        )
    if not root.exists():
        raise UserError(
            f"dataset folder '{root}' does not exist; check the path given to {data} (or $OFA_EDGE_DATA), or "
            f"pass {data} PATH to your dataset."
        )
    if not root.is_dir():
        raise UserError(f"{data} '{root}' is a file; pass the dataset folder.")


def detect_format(root: Path) -> str:
    """``packed`` | ``cifar-bin`` | ``cifar-py`` | ``imagefolder``; a clear :class:`UserError` otherwise, naming
    the option by its Python field and its flag (:func:`~ofa_edge.errors.option_name`)."""
    require_folder(root)
    if (root / "train.jpg.bin").exists() or (root / "test.jpg.bin").exists():
        return "packed"
    if cifar_bin_dir(root) is not None:
        return "cifar-bin"
    if find_cifar_python(root) is not None:
        return "cifar-py"
    if any(p.is_dir() for p in root.iterdir()):
        return "imagefolder"
    raise UserError(
        f"'{root}' is not a dataset ofa-edge reads: expected a packed JPEG folder (train.jpg.bin ...), "
        "a CIFAR folder (cifar-10-batches-bin, cifar-100-binary, or torchvision's cifar-10-batches-py, "
        "cifar-100-python) or an ImageFolder tree (ROOT/train/<class>/*.jpg)."
    )


def cifar_bin_dir(root: Path) -> Path | None:
    for name in CIFAR_BIN:
        if (root / name).is_dir():
            return root / name
        if root.name == name:
            return root
    return None


def crop_size(root: str | Path, size: int) -> int | None:
    """The square :func:`~ofa_edge.data.datasets.load_dataset` cuts the images of ``root`` to as it decodes
    them when asked for ``size``: ``size`` for an ImageFolder tree (shorter side to ``size``, centre crop:
    :func:`~ofa_edge.data.preprocess.fit_square`); ``None`` for packed and CIFAR datasets, whose images
    are taken as stored."""
    return size if detect_format(Path(root)) == "imagefolder" else None


def resolve_split(root: Path, fmt: str, split: str) -> str:
    """The split of ``root`` that ``split`` names: an ImageFolder tree without ``test/`` is evaluated on its
    ``val/`` (the layout of ImageNet and of most custom trees), so ``test`` there means ``val``. A loaded set
    records the split it was read from (:attr:`~ofa_edge.data.packed_jpeg.ImageSet.split`)."""
    if fmt == "imagefolder" and split == "test" and not (root / "test").is_dir() and (root / "val").is_dir():
        return "val"
    return split


def dataset_splits(root: Path, fmt: str) -> list[str]:
    """The splits of the dataset at ``root`` (format ``fmt``), ``train`` first."""
    if fmt == "packed":
        names = [p.name.removesuffix(".jpg.bin") for p in root.glob("*.jpg.bin")]
    elif fmt == "imagefolder":
        names = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    else:
        names = ["train", "test"]
    return sorted(names, key=lambda name: (name != "train", name))


def find_cifar_python(root: Path) -> tuple[Path, str] | None:
    """The torchvision CIFAR folder at or inside ``root`` and its kind (a key of :data:`FOLDERS`),
    recognised by its files whatever the folder is called."""
    for kind in FOLDERS:
        if (root / kind).is_dir():
            return root / kind, kind
        if root.name == kind:
            return root, kind
    if (root / "batches.meta").is_file() or (root / "data_batch_1").is_file():
        return root, "cifar-10-batches-py"
    if (root / "meta").is_file() and (root / "train").is_file():
        return root, "cifar-100-python"
    return None


def cifar_split_files(train_files: list[str], test_files: list[str], split: str) -> list[str]:
    """The batch files of ``split`` in a CIFAR folder (binary or torchvision's): train or test."""
    if split not in ("train", "test"):
        raise UserError(f"CIFAR folders have splits 'train' and 'test', not '{split}'.")
    return train_files if split == "train" else test_files


def split_identity(root: str | Path, split: str = "train") -> str | None:
    """A short content identity of one split, the same for a moved copy; ``None`` where the
    dataset is not there. Packed: a hash of its labels and offsets (half a megabyte for
    CIFAR-10). Other formats: a hash of the split's file names (relative) and sizes."""
    root = Path(root)
    if not root.is_dir():
        return None
    h = hashlib.sha256()
    if (root / f"{split}.jpg.bin").exists():
        files = [root / f"{split}.labels.npy", root / f"{split}.offsets.npy"]
        if not all(f.is_file() for f in files):
            return None
        for f in files:
            h.update(f.read_bytes())
        return h.hexdigest()[:16]
    fmt = detect_format(root)
    split = resolve_split(root, fmt, split)
    files = _split_files(root, fmt, split)
    if not files:
        return None
    h.update(split.encode())
    for f in files:
        h.update(f"{f.relative_to(root).as_posix()}\0{f.stat().st_size}\0".encode())
    return h.hexdigest()[:16]


def split_size(root: str | Path, split: str = "train") -> int | None:
    """How many images ``split`` of a dataset holds, counted without decoding any; ``None`` where the dataset is
    not there, or is CIFAR's Python pickles (which hold 50,000 training images and are not counted)."""
    root = Path(root)
    if not root.is_dir():
        return None
    if (root / f"{split}.jpg.bin").exists():
        import numpy as np  # here: locating data (every command's --help, search's start) does without numpy

        offsets = root / f"{split}.offsets.npy"
        return len(np.load(offsets, mmap_mode="r")) - 1 if offsets.is_file() else None
    fmt = detect_format(root)
    if fmt == "cifar-py":
        return None
    files = _split_files(root, fmt, resolve_split(root, fmt, split))
    if fmt == "cifar-bin":
        label_bytes = CIFAR_BIN[files[0].parent.name][2] if files else 1
        return sum(f.stat().st_size for f in files if f.is_file()) // (32 * 32 * 3 + label_bytes)
    return len(files)


def _split_files(root: Path, fmt: str, split: str) -> list[Path]:
    """The files that hold ``split`` of a CIFAR folder or an ImageFolder tree, in a fixed order."""
    if fmt == "cifar-bin":
        folder = cifar_bin_dir(root)
        train_files, test_files, _, _ = CIFAR_BIN[folder.name]  # type: ignore[union-attr]
        return [folder / n for n in cifar_split_files(train_files, test_files, split)]  # type: ignore[operator]
    if fmt == "cifar-py":
        folder, kind = find_cifar_python(root)  # type: ignore[misc]
        train_files, test_files = FOLDERS[kind][:2]
        return [folder / n for n in cifar_split_files(train_files, test_files, split)]
    base = root / split
    if not base.is_dir():
        return []
    return [path for _, path in imagefolder_images(base)]


def imagefolder_classes(base: Path) -> list[str]:
    """The class folders of an ImageFolder split, sorted by name; hidden ones (``.ipynb_checkpoints``, ...)
    are no classes."""
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


def imagefolder_images(base: Path) -> list[tuple[int, Path]]:
    """(class index, path) of every image an ImageFolder split holds: ``base/<class>/<image>``, in subfolders
    too (as torchvision's ImageFolder reads them), classes and images sorted by name (what the loader reads and
    the split's identity hashes). Hidden files and folders (``._photo.jpg`` that macOS leaves on other disks,
    ``.ipynb_checkpoints``) hold no images."""
    return [(ci, path) for ci, cls in enumerate(imagefolder_classes(base)) for path in _images_in(base / cls)]


def _images_in(folder: Path) -> list[Path]:
    """The images in ``folder`` and its subfolders, hidden ones left out, in one walk (a :func:`os.scandir` per
    folder; a file is looked at again only to follow a link), sorted as paths sort: name by name down the folders,
    so ``a/z.jpg`` comes before ``a-b.jpg``. Links are followed, to images and to folders (as torchvision's
    ImageFolder follows them), but for a broken link and a link to a folder that holds one being walked (a cycle)."""
    found: list[tuple[tuple[str, ...], Path, str]] = []  # (sort key, folder, name)
    folders: list[tuple[Path, tuple[str, ...], tuple[str, ...]]] = [(folder, (), (os.path.realpath(folder),))]
    while folders:
        where, key, walked = folders.pop()  # walked: the real paths of the folders down to ``where``
        with os.scandir(where) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                at = (*key, os.path.normcase(entry.name))  # as Path sorts: case-blind on Windows
                if entry.is_dir():
                    real = os.path.realpath(entry.path) if entry.is_symlink() else os.path.join(walked[-1], entry.name)
                    if not any(_holds(real, w) for w in walked):
                        folders.append((where / entry.name, at, (*walked, real)))
                elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXT and entry.is_file():
                    found.append((at, where, entry.name))
    found.sort(key=lambda image: image[0])
    return [where / name for _, where, name in found]


def _holds(folder: str, path: str) -> bool:
    """Whether real path ``path`` is ``folder`` or inside it."""
    return os.path.commonpath((folder, path)) == folder
