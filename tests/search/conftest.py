"""Search fixtures: honest *estimated* latency tables and a tiny real supernet.

Tables come from a documented analytic model (no device is timed in tests): each block costs
``MACs / rate + overhead`` ms, i.e. a device doing ``rate`` MAC/ms with a fixed per-layer
launch cost. They are marked ``kind: estimated`` like any other estimated table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import devices_dir
from ofa_edge.space.search_space import NUM_BLOCKS, SearchSpace

SPACE = "mbv3-w1.0-cifar"


def estimated_table(
    device: str,
    space: str = SPACE,
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
    """``latency_tables/`` with x86-cpu (2 GMAC/s) and slow-board (0.5 GMAC/s); work dir in tmp."""
    d = tmp_path / "latency_tables"
    estimated_table("x86-cpu").save(d / "x86-cpu.json")
    estimated_table("slow-board", gmacs_per_s=0.5, overhead_ms=0.05).save(d / "slow-board.json")
    estimated_table("big-board", "mbv3-w1.0-imagenet", num_classes=1000).save(d / "big-board.json")
    devices = tmp_path / "devices"
    devices.mkdir()
    (devices / "no-table-board.yaml").write_text("name: no-table-board\n")
    shutil.copy(devices_dir() / "x86-cpu.yaml", devices / "x86-cpu.yaml")  # the local machine, really timed
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
    save_supernet(Supernet(SPACE, 10), path)
    settings = MeasureSettings(n_val=16, n_calib=8, batch_size=8)
    pred, info = predictor_for(path, data_root, 8, settings=settings, progress=False)
    return {"path": path, "settings": settings, "predictor": pred, "info": info}


@pytest.fixture()
def make_table():
    """The analytic estimated-table builder, as a fixture (test modules do not import conftest)."""
    return estimated_table
