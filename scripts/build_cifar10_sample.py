"""Write the CIFAR-10 sample shipped beside the embedded supernet (``ofa_edge/pretrained/cifar10-sample/``).

    python scripts/build_cifar10_sample.py [--data DIR] [--images 2000]

The sample is the packed-JPEG layout (see ``ofa_edge/data/packed_jpeg.py``) holding, per split,
exactly the images ``ofa-edge export`` draws from the full dataset by default: the seed-0 uniform
subset of ``--images`` (BN recalibration on the training split, the INT8 top-1 comparison on the
test split). So an export that falls back to the sample recalibrates BN on the same images, in
the same order, as one given the whole CIFAR-10, and writes the same model.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from ofa_edge.data import DEFAULT_ROOT
from ofa_edge.data.sample import SAMPLE_ROOT
from ofa_edge.data.subset import subset_index
from ofa_edge.io import atomic_write, atomic_write_text

SPLITS = ("train", "test")


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as f:
        np.save(f, array, allow_pickle=False)


def write_split(src: Path, dst: Path, split: str, images: int) -> int:
    """Copy ``split``'s seed-0 subset of ``images`` JPEGs from ``src`` to ``dst``; the bytes written."""
    offsets = np.load(src / f"{split}.offsets.npy", allow_pickle=False)
    labels = np.load(src / f"{split}.labels.npy", allow_pickle=False)
    blob = np.memmap(src / f"{split}.jpg.bin", dtype=np.uint8, mode="r")
    index = subset_index(labels, images, seed=0, balanced=False)
    jpegs = [blob[offsets[i] : offsets[i + 1]].tobytes() for i in index]
    new_offsets = np.concatenate([[0], np.cumsum([len(j) for j in jpegs])]).astype(np.int64)
    atomic_write(dst / f"{split}.jpg.bin", lambda p: p.write_bytes(b"".join(jpegs)))
    atomic_write(dst / f"{split}.offsets.npy", lambda p: _save_npy(p, new_offsets))
    atomic_write(dst / f"{split}.labels.npy", lambda p: _save_npy(p, labels[index]))
    return int(new_offsets[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="the full CIFAR-10, packed JPEG")
    ap.add_argument("--images", type=int, default=2000, help="images per split (export's --bn-images default)")
    args = ap.parse_args()
    sizes = {split: write_split(args.data, SAMPLE_ROOT, split, args.images) for split in SPLITS}
    atomic_write_text(SAMPLE_ROOT / "classes.txt", (args.data / "classes.txt").read_text())
    files = sorted(p for p in SAMPLE_ROOT.iterdir() if p.name != "SHA256SUMS" and not p.name.startswith("."))
    sums = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in files)
    atomic_write_text(SAMPLE_ROOT / "SHA256SUMS", sums)
    print(
        f"wrote {SAMPLE_ROOT}: " + ", ".join(f"{s} {args.images} images ({n / 1e6:.2f} MB)" for s, n in sizes.items())
    )


if __name__ == "__main__":
    main()
