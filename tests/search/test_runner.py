"""The search from Python, as docs/search.md shows it: ``run_search(SearchOptions(...))``."""

from __future__ import annotations

import pytest

from ofa_edge import LatencyTable, SubnetConfig
from ofa_edge.errors import UserError, for_cli
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


def test_the_report_reuses_the_search_scores_and_its_fronts_flag_feasibility_by_the_tables(
    tables_dir, tmp_path, monkeypatch
):
    """write_report predicts no accuracy again (a measured or refined accuracy would cost minutes), and
    each pareto.csv row is feasible exactly when every device's table puts it within that device's budget."""
    import csv

    from ofa_edge.search import report as report_module
    from ofa_edge.search import runner

    def no_second_prediction(opts, prep, result, note):
        def refuse(_genomes):
            raise AssertionError("write_report predicted accuracy again")

        prep.problem.accuracy = refuse
        return report_module.write_report(opts, prep, result, note)

    monkeypatch.setattr(runner, "write_report", no_second_prediction)
    budgets = {"x86-cpu": 16.0, "slow-board": 80.0}
    opts = SearchOptions(
        devices=list(budgets), latency=[f"{b:g}ms" for b in budgets.values()], population=20, generations=10,
        measure=False, out=str(tmp_path / "s"),
    )  # fmt: skip
    with pytest.warns(UserWarning, match="ESTIMATED"):
        report = run_search(opts)
    tables = {d: LatencyTable.load(tables_dir / f"{d}.json") for d in budgets}
    with open(tmp_path / "s" / "pareto.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and {r["feasible"] for r in rows} <= {"True", "False"}
    chosen = [r for r in rows if SubnetConfig.from_json(r["subnet"]).short_id() == report["id"]]
    assert ("x86-cpu", "True") in {(r["device"], r["feasible"]) for r in chosen}  # on the front it was chosen from
    for r in rows:
        cfg = SubnetConfig.from_json(r["subnet"])
        fits = all(tables[d].predict([cfg])[0] <= b for d, b in budgets.items())
        assert (r["feasible"] == "True") == fits, r


def test_a_device_is_searched_with_its_table_of_the_supernets_space(tables_dir, tmp_path, make_table):
    """`profile --device x86-cpu --space mbv3-w1.2-cifar` writes x86-cpu.mbv3-w1.2-cifar.json; a search of a
    w1.2 supernet on x86-cpu read x86-cpu.json (w1.0) and exited 2 telling the user to profile for w1.2."""
    from ofa_edge.space import SearchSpace
    from ofa_edge.supernet import Supernet
    from ofa_edge.supernet.checkpoint import save_supernet

    wide = "mbv3-w1.2-cifar"
    make_table("x86-cpu", wide).save(tables_dir / f"x86-cpu.{wide}.json")
    supernet = tmp_path / "w12.safetensors"
    save_supernet(Supernet(SearchSpace.get(wide), 10), supernet)
    opts = SearchOptions(
        devices=["x86-cpu"], latency=["16ms"], supernet=str(supernet), accuracy_proxy="macs", population=8,
        generations=1, measure=False, out=str(tmp_path / "s"),
    )  # fmt: skip
    with pytest.warns(UserWarning, match="ESTIMATED"):
        report = run_search(opts)
    assert report["subnet"]["space"] == wide
    assert report["devices"]["x86-cpu"]["table"] == str(tables_dir / f"x86-cpu.{wide}.json")


def test_the_last_profiled_device_is_searched_with_its_table_of_the_supernets_space(tables_dir, tmp_path, make_table):
    """After `profile --device x86-cpu --space mbv3-w1.2-cifar`, a plain search of the embedded (w1.0) supernet
    took that w1.2 table as the default device's and exited 2, though x86-cpu.json was there."""
    from ofa_edge.latency.last_profile import remember_profile
    from ofa_edge.paths import embedded_supernet

    wide = tables_dir / "x86-cpu.mbv3-w1.2-cifar.json"
    make_table("x86-cpu", "mbv3-w1.2-cifar").save(wide)
    remember_profile("x86-cpu", wide)
    opts = SearchOptions(
        latency=["16ms"], supernet=str(embedded_supernet()), accuracy_proxy="macs", population=8, generations=1,
        measure=False, out=str(tmp_path / "s"),
    )  # fmt: skip
    with pytest.warns(UserWarning, match="ESTIMATED"):
        report = run_search(opts)
    assert report["devices"]["x86-cpu"]["table"] == str(tables_dir / "x86-cpu.json")


def test_run_search_given_a_dict_says_it_takes_search_options():
    """``run_search({"latency": ...})`` failed with AttributeError: 'dict' object has no attribute 'algo'."""
    with pytest.raises(UserError, match=r"^run_search: expected a SearchOptions, got dict; pass SearchOptions\("):
        run_search({"latency": ["2ms"], "devices": ["x86-cpu"]})  # type: ignore[arg-type]


def test_a_search_with_no_bound_names_the_fields_a_python_caller_sets():
    """It named only the flags (``--latency 15ms ...``), which a Python caller cannot pass."""
    with pytest.raises(UserError) as caught:
        run_search(SearchOptions(devices=["x86-cpu"]))
    said = str(caught.value)
    assert said == (
        "give at least one bound: latency (--latency) 15ms (per devices (--device)), flops (--flops) 300M or "
        "params (--params) 5M."
    )
    assert for_cli(said) == "give at least one bound: --latency 15ms (per --device), --flops 300M or --params 5M."
