"""Seconds to list an ImageFolder tree's images and to compute its split identity (what train, eval, search
and export do before decoding a single image), on a generated tree of empty ``.jpg`` files.

    PYTHONPATH=. python benchmarks/bench_imagefolder.py [--classes 10] [--subfolders 2] [--per-folder 500] [--rounds 15]

The tree is ``train/<class>/<subfolder>/<n>.jpg`` under a temporary folder, plus one hidden file per class
(skipped by the walk). Each round times both calls once; the table shows the median and the fastest round.
Run it from the checkout, or from an export of another commit to time that one (``PYTHONPATH`` picks it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ofa_edge.data.formats import imagefolder_images, split_identity
from ofa_edge.host import cpu_run_header


def make_tree(root: Path, classes: int, subfolders: int, per_folder: int) -> int:
    """Write the tree of empty images; returns how many images it holds."""
    for c in range(classes):
        for s in range(subfolders):
            folder = root / "train" / f"class{c:03d}" / f"part{s}"
            folder.mkdir(parents=True)
            for n in range(per_folder):
                (folder / f"{n:05d}.jpg").touch()
        (root / "train" / f"class{c:03d}" / "._hidden.jpg").touch()
    return classes * subfolders * per_folder


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    """Wall seconds of ``rounds`` calls."""
    seconds = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - t0)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--subfolders", type=int, default=2)
    parser.add_argument("--per-folder", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images = make_tree(root, args.classes, args.subfolders, args.per_folder)
        assert len(imagefolder_images(root / "train")) == images  # the hidden files are left out
        calls = {
            "imagefolder_images": lambda: imagefolder_images(root / "train"),
            "split_identity": lambda: split_identity(root, "train"),
        }
        results = {name: timed(call, args.rounds) for name, call in calls.items()}
    header = cpu_run_header()
    table = Table(title=f"an ImageFolder tree of {images:,} images: {header['cpu']}, {header['date']}")
    for column in ("call", "median (ms)", "fastest (ms)"):
        table.add_column(column, justify="left" if column == "call" else "right")
    for name, seconds in results.items():
        table.add_row(name, f"{statistics.median(seconds) * 1e3:.0f}", f"{min(seconds) * 1e3:.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
