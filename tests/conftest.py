"""Shared fixtures: the real packed CIFAR-10 (small subsets) and a CLI runner."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest
import torch

from ofa_edge.data import DEFAULT_ROOT

# The cores are shared among pytest-xdist's workers: each gets its share of threads (one per
# worker on 2 cores with -n 2). Two threads per worker oversubscribed the cores and OpenMP's
# waiting threads slowed small ops by up to 10x (test_extract's two largest cases: 382 s, against
# 33 s with one thread each). Subprocesses (CLI runs, torchrun) inherit the setting.
THREADS = max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

DATA_ROOT = Path(os.environ.get("OFA_EDGE_TEST_DATA", DEFAULT_ROOT))


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA_ROOT / "train.jpg.bin").is_file():
        pytest.fail(f"CIFAR-10 packed data not found at {DATA_ROOT}; set OFA_EDGE_TEST_DATA")
    return DATA_ROOT


@pytest.fixture(scope="session")
def cifar_test_small(data_root):
    from ofa_edge.data import load_packed

    return load_packed(data_root, "test", limit=256, seed=0)


@pytest.fixture()
def cli(capsys):
    """Run ``ofa-edge ARGS`` in-process; returns (exit code, stdout, stderr)."""
    from ofa_edge.cli.app import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def real(data_root):
    """20 real CIFAR-10 training images (the same ones in every test that asks)."""
    from ofa_edge.data.datasets import load_dataset

    return load_dataset(data_root, "train", limit=20, seed=0)


@pytest.fixture(scope="session")
def cifar_imagefolder(data_root, tmp_path_factory) -> Path:
    """An ImageFolder tree (ROOT/{train,test}/<class>/*.png) of real CIFAR-10 images: 20 train, 10 test."""
    from PIL import Image

    from ofa_edge.data.datasets import load_dataset

    root = tmp_path_factory.mktemp("imagefolder")
    for split, n in (("train", 20), ("test", 10)):
        images = load_dataset(data_root, split, limit=n, seed=0)
        for i, (img, y) in enumerate(zip(images.images, images.labels, strict=True)):
            folder = root / split / images.classes[int(y)]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i}.png")
    return root


@pytest.fixture()
def run_readme_python():
    """``run(containing, script)``: run the README's ```python block that contains ``containing``,
    saved as ``script``, in the current folder (so its examples are run, not trusted)."""

    def run(containing: str, script: Path) -> None:
        readme = (Path(__file__).parents[1] / "README.md").read_text()
        blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
        (block,) = [b for b in blocks if containing in b]
        script.write_text(block)
        runpy.run_path(str(script), run_name="__main__")

    return run
