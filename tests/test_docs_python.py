"""Every Python snippet in the README and docs runs as written: a doc's snippets in order, in one namespace, in a
fresh folder, on tiny real inputs (the embedded supernet, the shipped tables and sample images). The names and
files a doc's prose leaves to the reader (``x``, ``table``, ``subnet.json``...) are made here from real objects."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ofa_edge import SearchSpace, SubnetConfig, load_supernet
from ofa_edge.data import load_dataset
from ofa_edge.data.sample import SAMPLE_ROOT
from ofa_edge.data.transforms import Preprocess
from ofa_edge.latency import LatencyTable, load_device, table_for_device, table_path
from ofa_edge.paths import embedded_supernet

ROOT = Path(__file__).parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SPACE = SearchSpace.get("mbv3-w1.0-cifar")
# Snippets another test runs as written (with what it checks of their output).
RUN_ELSEWHERE = {
    "README.md-0": "tests/test_pretrained.py::test_quickstart_runs_offline_with_embedded_defaults",
    "README.md-1": "tests/test_api.py::test_readme_python_api_runs_as_written",
    "training.md-0": "tests/test_api.py::test_training_docs_python_example_runs",
}
RUN_HERE = {"export.md": 1, "latency.md": 3, "prune.md": 3, "search.md": 1, "supernet.md": 3}


def _snippets(doc: Path) -> list[str]:
    """The ```python blocks of ``doc``, in order."""
    return [block.split("```", 1)[0] for block in doc.read_text().split("```python\n")[1:]]


def _run(doc: str, names: dict[str, Any], order: Iterable[int] | None = None) -> dict[str, Any]:
    """Run the snippets of ``docs/<doc>`` (in ``order``, default the doc's) in one namespace that starts
    with ``names``; return it."""
    blocks = _snippets(ROOT / "docs" / doc)
    ns = {"__name__": "__main__", **names}
    for i in range(len(blocks)) if order is None else order:
        exec(compile(blocks[i], f"docs/{doc} snippet {i}", "exec"), ns)  # noqa: S102 - the docs' own code
    return ns


def test_every_snippet_is_run_here_or_by_the_test_named() -> None:
    found = {f"{doc.name}-{i}" for doc in DOCS for i in range(len(_snippets(doc)))}
    here = {f"{doc}-{i}" for doc, n in RUN_HERE.items() for i in range(n)}
    assert found == here | set(RUN_ELSEWHERE), "a snippet was added or removed: run it in a test"


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder holding ``subnet.json`` (the space's min subnet, the quickest to run)."""
    monkeypatch.chdir(tmp_path)
    SPACE.min().save("subnet.json")
    return tmp_path


def test_supernet_docs_run(in_tmp: Path) -> None:
    shutil.copy(embedded_supernet(), "supernet.safetensors")
    cfg = SubnetConfig.load("subnet.json")
    train = load_dataset(SAMPLE_ROOT, "train")
    prep = Preprocess(cfg.resolution, SPACE.mean, SPACE.std)
    batches = list(prep.chunks(train.images[:64], 32))
    ns = _run("supernet.md", {"x": torch.randn(2, 3, cfg.resolution, cfg.resolution), "train_batches": batches})
    assert SubnetConfig.load("copy.json") == cfg
    assert ns["logits"].shape == (2, 10) and not ns["sub"].training  # recalibrate_bn left it in eval mode


def test_latency_docs_run(in_tmp: Path, make_table) -> None:
    dev = load_device("x86-cpu")
    other = table_path(dev, "mbv3-w1.2-cifar")  # "a table of another space": an estimated one made here
    other.parent.mkdir(parents=True)
    make_table("x86-cpu", "mbv3-w1.2-cifar").save(other)
    names = {"table": table_for_device("pixel-8")[0], "genomes_or_configs": [SPACE.min(), SPACE.max()]}
    ns = _run("latency.md", names)
    assert ns["ms"].shape == (2,) and ns["ms"][0] < ns["ms"][1]
    assert ns["path"] == other and ns["other"].space == "mbv3-w1.2-cifar"
    # the profile really timed entries on this CPU into your table (all of them are minutes: max_entries=20)
    on_disk = LatencyTable.load(table_path(dev), require_complete=False)
    assert on_disk.entries == ns["table"].entries
    if ns["job"].continued is None:  # the shipped table was measured on another machine: yours starts afresh
        assert len(on_disk.entries) == 20 and not on_disk.complete
    else:
        assert on_disk.complete


def test_export_docs_run(in_tmp: Path) -> None:
    # ONNX Runtime's own format: the TensorRT formats need TensorRT, absent here (tests/export covers them)
    ns = _run("export.md", {})
    assert ns["manifest"]["primary"] == "model.ort" and (in_tmp / "bundle" / "model.ort").is_file()
    assert SubnetConfig.load(in_tmp / "bundle" / "subnet.json") == SPACE.min()


def test_search_docs_run(in_tmp: Path) -> None:
    ns = _run("search.md", {})
    assert SubnetConfig.load("runs/search/subnet.json") == ns["cfg"]
    assert ns["report"]["predicted"]["latency_ms"] <= 2.5


def test_prune_docs_run(in_tmp: Path) -> None:
    Path("ofa-edge-runs/search").mkdir(parents=True)
    shutil.copy("subnet.json", "ofa-edge-runs/search/subnet.json")
    model = load_supernet(embedded_supernet()).extract(SPACE.min()).eval()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, 24, 24), dtype=np.float32))
    ns = _run("prune.md", {"model": model, "example_input": x}, order=[1])  # the pipeline makes what [0] loads
    shutil.copytree("runs/prune", "ofa-edge-runs/prune/subnet-40ac69-hesso-s0.5")  # where the command writes it
    ns = _run("prune.md", ns, order=[0, 2])
    assert not ns["net"].training and ns["net"](x).shape == (2, 10)
    assert 0 < ns["result"]["after"]["top1"] <= 100
    with torch.no_grad():
        assert torch.allclose(ns["small"].eval()(x), model(x), atol=1e-4)  # nothing trained: nothing pruned
