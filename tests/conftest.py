"""Shared fixtures: the real packed CIFAR-10 (small subsets), a CLI runner, and for search and its
command honest *estimated* latency tables and a tiny real supernet.

The estimated tables come from a documented analytic model (no device is timed in tests): each block
costs ``MACs / rate + overhead`` ms, i.e. a device doing ``rate`` MAC/ms with a fixed per-layer launch
cost. They are marked ``kind: estimated`` like any other estimated table.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from ofa_edge.data import DEFAULT_ROOT
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_DEVICES
from ofa_edge.space import SubnetConfig
from ofa_edge.space.search_space import NUM_BLOCKS, NUM_STAGES, SearchSpace

# The cores are shared among pytest-xdist's workers: each gets its share of threads (one per
# worker on 2 cores with -n 2). Two threads per worker oversubscribed the cores and OpenMP's
# waiting threads slowed small ops by up to 10x (test_extract's two largest cases: 382 s, against
# 33 s with one thread each). Subprocesses (CLI runs, torchrun) inherit the setting. A worker sets
# it whatever it inherited: xdist's controller imports this file first, and its setting (all the
# cores) would otherwise reach every worker.
THREADS = max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ["OMP_NUM_THREADS"] = str(THREADS)
else:
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

DATA_ROOT = Path(os.environ.get("OFA_EDGE_TEST_DATA", DEFAULT_ROOT))


@pytest.fixture(autouse=True)
def _work_dirs_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands keep runs and ``last_search.json`` under ``$OFA_EDGE_HOME``, and your tables and device
    files under ``$XDG_DATA_HOME/ofa-edge``: never in the checkout or the tester's home, never shared
    between tests (a test that needs its own sets them again)."""
    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path / "ofa-edge-home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("OFA_EDGE_LATENCY_TABLES", raising=False)
    monkeypatch.delenv("OFA_EDGE_DEVICES", raising=False)


@pytest.fixture()
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on its own 1 MiB tmpfs, for writes that meet a full disk (fill it with :func:`fill_disk`);
    skipped where no tmpfs can be mounted (not root, no mount permission)."""
    folder = tmp_path / "full"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs (a full disk) needs root and mount")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(folder)], check=False, capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.fixture()
def fill_disk(full_disk: Path) -> Callable[[int], None]:
    """Fill the :func:`full_disk` up to ``room`` bytes left (the argument)."""

    def fill(room: int = 0) -> None:
        filler = full_disk / "filler"
        with open(filler, "wb", buffering=0) as f:
            with contextlib.suppress(OSError):
                while f.write(b"\0" * 65536):
                    pass
            f.truncate(max(0, filler.stat().st_size - room))

    return fill


@pytest.fixture(autouse=True)
def _threads_unchanged() -> Iterator[None]:
    """No test, and nothing it calls, leaves torch's thread count changed: a worker left with two threads
    per core oversubscribes the cores for every test after it (OpenMP's waiting threads, up to 10x slower)."""
    yield
    threads = torch.get_num_threads()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    assert threads == int(os.environ["OMP_NUM_THREADS"]), f"the test left torch on {threads} thread(s)"


def covering_configs(
    space: SearchSpace, n_random: int, rng: np.random.Generator, resolution: int | None = None
) -> list[SubnetConfig]:
    """Subnets that together take every (kernel, expand) choice of every block (at full depth) and every
    depth of every stage, then ``n_random`` random ones; at ``resolution`` (default: the space's smallest,
    which keeps CPU time low and does not change the slicing)."""
    r, ks, es, ds = resolution or min(space.resolutions), space.kernels, space.expands, space.depths
    full = (max(ds),) * NUM_STAGES
    cover = [
        SubnetConfig(
            space.name, r, full,
            tuple(ks[(i % len(ks) + b) % len(ks)] for b in range(NUM_BLOCKS)),
            tuple(es[(i // len(ks) + b) % len(es)] for b in range(NUM_BLOCKS)),
        )
        for i in range(len(ks) * len(es))
    ]  # fmt: skip
    for d in ds:
        c = space.sample(rng)
        cover.append(SubnetConfig(space.name, r, (d,) * NUM_STAGES, c.kernel, c.expand))
    for _ in range(n_random):
        c = space.sample(rng)
        cover.append(SubnetConfig(space.name, r, c.depth, c.kernel, c.expand))
    return cover


@pytest.fixture(scope="session")
def covering_subnets():
    """:func:`covering_configs`, for tests that must reach every choice with few subnets."""
    return covering_configs


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


@pytest.fixture(scope="session")
def nonsquare_imagefolder(data_root, tmp_path_factory) -> Path:
    """A 3-class ImageFolder tree of real CIFAR-10 images (airplane, automobile, bird) enlarged to
    non-square sizes, as photos are: 18 train, 9 test."""
    from PIL import Image

    from ofa_edge.data.datasets import load_dataset

    root = tmp_path_factory.mktemp("nonsquare")
    sizes = [(48, 36), (36, 60), (64, 40), (41, 53)]
    for split, n in (("train", 60), ("test", 30)):
        images = load_dataset(data_root, split, limit=n, seed=0)
        for i, (img, y) in enumerate(zip(images.images, images.labels, strict=True)):
            if int(y) < 3:
                folder = root / split / images.classes[int(y)]
                folder.mkdir(parents=True, exist_ok=True)
                pil = Image.fromarray(img.permute(1, 2, 0).numpy()).resize(sizes[i % len(sizes)], Image.BICUBIC)
                pil.save(folder / f"{i}.png")
    return root


@pytest.fixture()
def renamed_sample(tmp_path: Path):
    """``make(renames)``: a copy of the shipped CIFAR-10 sample whose classes.txt renames some classes (ten classes,
    other names: what a network trained on CIFAR-10 must refuse)."""
    from ofa_edge.data.sample import SAMPLE_ROOT, sample_classes

    def make(renames: dict[str, str]) -> Path:
        folder = tmp_path / "renamed-sample"
        shutil.copytree(SAMPLE_ROOT, folder)
        (folder / "SHA256SUMS").unlink()  # it would name the classes.txt it held
        (folder / "classes.txt").write_text("\n".join(renames.get(n, n) for n in sample_classes()) + "\n")
        return folder

    return make


@pytest.fixture()
def run_readme_python():
    """``run(containing, script, doc="README.md")``: run the ```python block of ``doc`` (a path from the
    checkout's root) that contains ``containing``, saved as ``script``, in the current folder (so its
    examples are run, not trusted)."""

    def run(containing: str, script: Path, doc: str = "README.md") -> None:
        text = (Path(__file__).parents[1] / doc).read_text()
        blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
        (block,) = [b for b in blocks if containing in b]
        script.write_text(block)
        runpy.run_path(str(script), run_name="__main__")

    return run


SEARCH_SPACE = "mbv3-w1.0-cifar"


def estimated_table(
    device: str,
    space: str = SEARCH_SPACE,
    *,
    gmacs_per_s: float = 2.0,
    overhead_ms: float = 0.01,
    num_classes: int = 10,
    resolutions: tuple[int, ...] | None = None,
) -> LatencyTable:
    """A complete table whose entries are ``macs / (gmacs_per_s * 1e6) + overhead_ms`` (ms)."""
    sp = SearchSpace.get(space)
    res = list(resolutions or sp.resolutions)
    rate = gmacs_per_s * 1e6  # MACs per ms
    entries = {}

    def put(key: str, macs: float) -> None:
        ms = macs / rate + overhead_ms
        entries[key] = {"count": 1.0, "mean": ms, "std": 0.0, "median": ms}

    for r in res:
        for key, macs, _ in sp.fixed_parts(r, num_classes).values():
            put(key, macs)
        for b in range(NUM_BLOCKS):
            for k in sp.kernels:
                for e in sp.expands:
                    shape = sp.block_shape(r, b, k, e)
                    put(shape.key(), shape.macs())
    prov = {
        "device": device,
        "kind": "estimated",
        "backend": "analytic",
        "method": f"MACs / {gmacs_per_s} GMAC/s + {overhead_ms} ms per layer (test model)",
    }
    return LatencyTable(space, num_classes, res, prov, entries, complete=True)


@pytest.fixture()
def tables_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Your latency tables (``$OFA_EDGE_LATENCY_TABLES``): x86-cpu (2 GMAC/s), slow-board (0.5 GMAC/s); work dir in tmp."""
    d = tmp_path / "latency_tables"
    estimated_table("x86-cpu").save(d / "x86-cpu.json")
    estimated_table("slow-board", gmacs_per_s=0.5, overhead_ms=0.05).save(d / "slow-board.json")
    estimated_table("big-board", "mbv3-w1.0-imagenet", num_classes=1000).save(d / "big-board.json")
    devices = tmp_path / "devices"
    devices.mkdir()
    (devices / "no-table-board.yaml").write_text("name: no-table-board\n")
    shutil.copy(SHIPPED_DEVICES / "x86-cpu.yaml", devices / "x86-cpu.yaml")  # the local machine, really timed
    monkeypatch.setenv("OFA_EDGE_LATENCY_TABLES", str(d))
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(devices))
    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path / "runs"))
    return d


@pytest.fixture(scope="session")
def tiny_supernet(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict:
    """A randomly initialised CIFAR supernet on disk, with accuracies of 8 subnets really measured
    on a tiny held-out split (16 validation, 8 calibration images) and a predictor fitted on them."""
    import torch

    from ofa_edge.search.accuracy import MeasureSettings, predictor_for
    from ofa_edge.supernet import Supernet
    from ofa_edge.supernet.checkpoint import save_supernet

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("supernet") / "tiny.safetensors"
    save_supernet(Supernet(SEARCH_SPACE, 10), path)
    settings = MeasureSettings(n_val=16, n_calib=8, batch_size=8)
    pred, info = predictor_for(path, data_root, 8, settings=settings, progress=False)
    return {"path": path, "settings": settings, "predictor": pred, "info": info}


@pytest.fixture(scope="session")
def make_table():
    """The analytic estimated-table builder, as a fixture (test modules do not import conftest)."""
    return estimated_table
