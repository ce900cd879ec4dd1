"""The stable Python API of DESIGN.md works as written."""

from __future__ import annotations

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
