"""The stable Python API of DESIGN.md, and the Python examples of the README and docs/training.md, work as written."""

from __future__ import annotations

import ast
import inspect
import json
import re

import numpy as np
import torch

from ofa_edge import LatencyTable, SearchSpace, Supernet, load_supernet, save_supernet
from ofa_edge.paths import SHIPPED_TABLES


def test_design_api_round_trip(tmp_path) -> None:
    space = SearchSpace.get("mbv3-w1.0-cifar")
    cfg = space.sample(np.random.default_rng(0))
    save_supernet(Supernet(space, num_classes=10), tmp_path / "s.safetensors")
    net = load_supernet(tmp_path / "s.safetensors").eval()
    net.set_active(cfg)
    x = torch.randn(2, 3, cfg.resolution, cfg.resolution)
    with torch.no_grad():
        assert torch.allclose(net(x), net.extract(cfg).eval()(x), atol=1e-5)
    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    ms = table.predict([cfg, space.min(), space.max()])
    assert ms.shape == (3,) and ms[1] < ms[0] < ms[2]


def test_readme_python_api_runs_as_written(tmp_path, monkeypatch, capsys, run_readme_python) -> None:
    monkeypatch.chdir(tmp_path)  # it runs from any folder
    run_readme_python("load_supernet(", tmp_path / "api.py")
    diff, result = capsys.readouterr().out.splitlines()
    assert float(diff.removeprefix("max diff ")) <= 1e-4
    top1 = float(result.split("top-1 ")[1].split(" %")[0])
    assert top1 > 60 and " ms on x86-cpu" in result  # 47.8 % without BN recalibration (docs/benchmarks.md)


def test_training_docs_python_example_runs(tmp_path, monkeypatch, capsys, run_readme_python) -> None:
    """docs/training.md's example trains with a config it never resolved itself (it crashed on
    device 'auto'), from a Path (config.json could not hold one), and says which defaults it picked."""
    monkeypatch.chdir(tmp_path)
    run_readme_python("Trainer(cfg)", tmp_path / "train.py", doc="docs/training.md")
    out, err = capsys.readouterr()
    status, probes = out.strip().split(" ", 1)
    assert status == "complete" and set(ast.literal_eval(probes)) == {"min", "mid", "max", "rand0", "rand1"}
    flat = " ".join(err.split())
    assert re.search(r"device: \S+ \(auto\)", flat) and "lr: 0.003125 (0.1 x global batch 8 / 256)" in flat
    assert "epoch 1/1 (shrink) loss" in flat
    run = tmp_path / "runs" / "tiny"
    config = json.loads((run / "config.json").read_text())["train"]
    assert config["device"] != "auto" and config["data"].endswith("cifar10-sample") and config["limit_train"] == 24
    assert [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [0]


def test_the_top_level_api_documents_every_public_method() -> None:
    """help(space.sample), help(cfg.to_dict), help(table.save)... showed only a signature."""
    import ofa_edge

    undocumented = [
        f"{name}.{attr}"
        for name in ofa_edge.__all__
        if inspect.isclass(cls := getattr(ofa_edge, name)) and cls.__module__.startswith("ofa_edge")
        for attr, member in vars(cls).items()
        if not attr.startswith("_")
        and callable(fn := getattr(member, "__func__", getattr(member, "fget", member)))
        and not inspect.getdoc(fn)
    ]
    assert not undocumented, f"public methods without a docstring: {undocumented}"
