"""The search from Python, as docs/search.md shows it: ``run_search(SearchOptions(...))``."""

from __future__ import annotations

import pytest

from ofa_edge import LatencyTable, SubnetConfig
from ofa_edge.search import SearchOptions, run_search


def test_run_search_from_python_writes_what_the_command_writes_and_warns_as_python_does(tables_dir, tmp_path):
    opts = SearchOptions(
        devices=["x86-cpu", "slow-board"], latency=["16ms", "80ms"], population=20, generations=10,
        measure=False, out=str(tmp_path / "s"),
    )  # fmt: skip
    with pytest.warns(UserWarning, match="ESTIMATED") as warned:  # the test tables are estimated
        report = run_search(opts)
    assert {w.filename for w in warned} == {__file__}  # the caller's line, not the package's (runner.py:306)
    cfg = SubnetConfig.from_dict(report["subnet"])
    assert SubnetConfig.load(tmp_path / "s" / "subnet.json") == cfg
    for device, budget in (("x86-cpu", 16.0), ("slow-board", 80.0)):
        assert LatencyTable.load(tables_dir / f"{device}.json").predict([cfg])[0] <= budget
    said: list[str] = []
    run_search(opts, note=said.append, warn=said.append)
    assert any(line.startswith("algorithm: evolution") for line in said)
