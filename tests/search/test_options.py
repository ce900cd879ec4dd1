"""``SearchOptions``: the command's options from Python, read and checked as the command line reads them."""

from __future__ import annotations

import pytest

from ofa_edge.errors import UserError
from ofa_edge.search import SearchOptions


def test_search_options_are_checked_as_the_command_checks_them():
    with pytest.raises(UserError, match="--top-k 0"):
        SearchOptions(latency=["16ms"], top_k=0)


def test_search_options_read_values_as_the_command_line_does():
    opts = SearchOptions(latency="16ms, 80ms", devices=["x86-cpu,slow-board"], algo="TPE", accuracy_proxy="MACs")
    assert opts.latency == ["16ms", "80ms"] and opts.devices == ["x86-cpu", "slow-board"]
    assert (opts.algo, opts.accuracy_proxy) == ("tpe", "macs")
    with pytest.raises(UserError, match="--device 'x86-cpu,' has an empty item"):
        SearchOptions(latency=["16ms"], devices=["x86-cpu,"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"latency": 2.0}, r"--latency takes text .* e\.g\. '15ms'; got float 2\.0"),
        ({"latency": [2.0]}, r"--latency takes text .* got float 2\.0"),
        ({"latency": ["2ms"], "devices": [None]}, r"--device takes text .* got NoneType"),
        ({"latency": ["2ms"], "population": "20"}, r"--population '20': must be a number"),
    ],
)
def test_search_options_of_the_wrong_type_are_user_errors(options, message):
    """Python callers passing numbers (``latency=2.0``) or strings for counts got bare TypeErrors."""
    with pytest.raises(UserError, match=message):
        SearchOptions(**options)


def test_search_options_take_one_table_as_a_path(tables_dir):
    assert SearchOptions(latency="16ms", tables=tables_dir / "x86-cpu.json").tables == [tables_dir / "x86-cpu.json"]


@pytest.mark.parametrize(
    ("options", "message"),
    [({"flops": "lots"}, "cannot read --flops 'lots'"), ({"params": "-2M"}, "--params '-2M' must be a positive")],
)
def test_cost_bounds_are_checked_when_the_options_are_made(options, message):
    """A bad --flops or --params was found only in run_search, after the accuracy predictor was loaded or fitted."""
    with pytest.raises(UserError, match=message):
        SearchOptions(latency=["16ms"], **options)
