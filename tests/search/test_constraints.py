import numpy as np
import pytest

from ofa_edge.errors import UserError, for_cli
from ofa_edge.search.constraints import (
    check_achievable,
    cost_bounds,
    device_targets,
    latency_bounds,
    loose_bounds,
    loose_message,
)
from ofa_edge.search.problem import SearchProblem
from ofa_edge.space import CostModel, SearchSpace

SPACE = "mbv3-w1.0-cifar"


def test_default_device_and_pairing(tables_dir):
    targets, picked = device_targets([], ["15ms"], [])
    assert [t.name for t in targets] == ["x86-cpu"] and targets[0].budget_ms == 15.0
    assert "default" in picked[0]
    targets, _ = device_targets(["x86-cpu", "slow-board"], ["15ms", "0.04s"], [])
    assert [(t.name, t.budget_ms) for t in targets] == [("x86-cpu", 15.0), ("slow-board", 40.0)]
    targets, _ = device_targets(["x86-cpu", "slow-board"], ["900us"], [])
    assert targets[0].budget_ms == pytest.approx(0.9) and targets[1].budget_ms is None
    targets, _ = device_targets([], ["15ms"], [str(tables_dir / "slow-board.json")])
    assert targets[0].name == "slow-board"


@pytest.mark.parametrize(
    ("devices", "latencies", "needle"),
    [
        (["x86-cpux"], ["15ms"], "Did you mean 'x86-cpu'"),
        (["no-table-board"], ["15ms"], "ofa-edge profile --device no-table-board"),
        (["x86-cpu"], ["15ms", "20ms"], "pair each budget"),
        (["x86-cpu", "x86-cpu"], ["15ms"], "twice"),
        (["x86-cpu"], ["15 parsecs"], "cannot read latency"),
    ],
)
def test_bad_targets(tables_dir, devices, latencies, needle):
    with pytest.raises(UserError, match=needle):
        device_targets(devices, latencies, [])


def test_a_missing_table_paired_with_a_device_names_that_device_in_the_fix(tables_dir, tmp_path):
    """The hint read `ofa-edge profile --device <device> -o ...` although --device had named it."""
    missing = tmp_path / "orin.json"
    with pytest.raises(UserError, match=rf"`ofa-edge profile --device jetson-orin -o {missing}`.*jetson-orin's own"):
        device_targets(["jetson-orin"], ["15ms"], [str(missing)])


def test_a_paired_table_that_is_unusable_offers_the_devices_own_table_and_an_unpaired_one_does_not(tmp_path):
    """search checked only that a --table existed: a broken one paired with --device did not say that the device's
    own table is the other way, and the fix for a missing one was worded apart from LatencyTable.load's."""
    broken = tmp_path / "orin.json"
    broken.write_text("{not json")
    with pytest.raises(UserError, match=r"not valid JSON.*Or drop tables \(--table\) to search with jetson-orin's own"):
        device_targets(["jetson-orin"], ["15ms"], [str(broken)])
    with pytest.raises(UserError) as e:
        device_targets([], ["15ms"], [str(tmp_path / "orin2.json")])  # no device named: none to fall back on
    assert "does not exist; run `ofa-edge profile --device <device> -o" in str(e.value) and "drop" not in str(e.value)


def test_too_tight_budget_names_the_fastest(tables_dir):
    sp = SearchSpace.get(SPACE)
    targets, _ = device_targets(["slow-board"], ["1ms"], [])
    cost = CostModel(sp, 10)
    t = targets[0]
    prob = SearchProblem(sp, cost.macs, {t.metric: t.table.predict}, latency_bounds(targets))
    fastest = t.table.predict([sp.min()])[0]  # the analytic table is monotone: min config is fastest
    with pytest.raises(UserError, match=f"fastest achievable subnet \\({fastest:.3f} ms"):
        check_achievable(prob)
    prob.bounds = cost_bounds("1M", None)
    prob.metrics["macs"] = cost.macs
    with pytest.raises(UserError, match="smallest achievable") as e:
        check_achievable(prob)
    assert "For millions" not in str(e.value)
    prob.bounds = cost_bounds("300", None)  # 300 MACs: meant 300M
    with pytest.raises(UserError) as e:
        check_achievable(prob)
    said = str(e.value)  # a Python caller sets the field, the command line the flag: both are named
    assert said.startswith("flops (--flops) (MACs) 300 is below the smallest achievable subnet")
    assert "Raise flops (--flops) to at least" in said
    assert said.endswith("M. For millions, give the suffix: flops (--flops) 300M.")
    assert "Lower latency (--latency)" in loose_message(latency_bounds(targets)[0], fastest)


def test_anchor_meets_all_bounds(tables_dir):
    sp = SearchSpace.get(SPACE)
    targets, _ = device_targets(["x86-cpu", "slow-board"], ["12ms", "60ms"], [])
    cost = CostModel(sp, 10)
    metrics = {t.metric: t.table.predict for t in targets} | {"params": cost.params}
    prob = SearchProblem(sp, cost.macs, metrics, latency_bounds(targets) + cost_bounds(None, "3M"))
    minima = check_achievable(prob)
    assert set(minima) == {"latency:x86-cpu", "latency:slow-board", "params"}
    assert prob.violation(prob.anchor[None])[0] == 0
    assert np.isfinite(list(minima.values())).all()


def test_loose_bounds_name_the_slowest_subnet(tables_dir):
    sp = SearchSpace.get(SPACE)
    slowest = None
    for budget, binds in (("1ms", True), ("10s", False)):
        targets, _ = device_targets(["slow-board"], [budget], [])
        t = targets[0]
        prob = SearchProblem(sp, CostModel(sp, 10).macs, {t.metric: t.table.predict}, latency_bounds(targets))
        loose = loose_bounds(prob)
        assert (t.metric not in loose) == binds
        slowest = loose.get(t.metric, slowest)
    # the analytic table is monotone: the max config is the slowest subnet
    assert slowest == pytest.approx(t.table.predict([sp.max()])[0])
    assert "does not bind" in loose_message(latency_bounds(targets)[0], slowest)


def test_pairing_mistakes_name_the_search_options_fields_and_the_cli_its_flags(tables_dir):
    """device_targets named --device/--table/--latency alone: a Python caller passes SearchOptions' fields."""
    slow = str(tables_dir / "slow-board.json")
    with pytest.raises(
        UserError, match=r"^devices \(--device\) gives 2 devices but tables \(--table\) gives 1 table"
    ) as e:
        device_targets(["x86-cpu", "slow-board"], [], [slow])
    assert for_cli(e.value).startswith("--device gives 2 devices but --table gives 1 table:")
    with pytest.raises(
        UserError, match=r"^tables \(--table\) '.*' was made for device 'slow-board', not devices \(--d"
    ):
        device_targets(["x86-cpu"], [], [slow])
    with pytest.raises(
        UserError, match=r"^latency \(--latency\) gives 2 budgets for 1 device: .* of devices \(--d"
    ) as e:
        device_targets(["x86-cpu"], ["15ms", "20ms"], [])
    assert for_cli(e.value).startswith("--latency gives 2 budgets for 1 device: pair each budget with a device of --d")
