"""``SearchOptions``: the command's options from Python, read and checked as the command line reads them."""

from __future__ import annotations

import pytest

from ofa_edge.errors import UserError
from ofa_edge.search import SearchOptions
from ofa_edge.search.options import check_algorithm_options


def test_search_options_are_checked_as_the_command_checks_them():
    with pytest.raises(UserError, match=r"^top_k \(--top-k\) 0: must be >= 1\."):
        SearchOptions(latency=["16ms"], top_k=0)


def test_search_options_read_values_as_the_command_line_does():
    opts = SearchOptions(latency="16ms, 80ms", devices=["x86-cpu,slow-board"], algo="TPE", accuracy_proxy="MACs")
    assert opts.latency == ["16ms", "80ms"] and opts.devices == ["x86-cpu", "slow-board"]
    assert (opts.algo, opts.accuracy_proxy) == ("tpe", "macs")
    with pytest.raises(UserError, match=r"devices \(--device\) 'x86-cpu,' has an empty item"):
        SearchOptions(latency=["16ms"], devices=["x86-cpu,"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"latency": 2.0}, r"^latency \(--latency\) takes text .* e\.g\. '15ms'; got float 2\.0"),
        ({"latency": [2.0]}, r"^latency \(--latency\) takes text .* got float 2\.0"),
        ({"latency": ["2ms"], "devices": [None]}, r"^devices \(--device\) takes text .* got NoneType"),
        ({"latency": ["2ms"], "population": "20"}, r"^population \(--population\) '20': must be a number"),
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
    [
        ({"flops": "lots"}, r"cannot read flops \(--flops\) 'lots'"),
        ({"params": "-2M"}, r"^params \(--params\) '-2M' must be a positive"),
    ],
)
def test_cost_bounds_are_checked_when_the_options_are_made(options, message):
    """A bad --flops or --params was found only in run_search, after the accuracy predictor was loaded or fitted."""
    with pytest.raises(UserError, match=message):
        SearchOptions(latency=["16ms"], **options)


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"population": 0}, "population (--population) 0: must be >= 4."),
        ({"storage": "s.journal"}, "storage (--storage) needs study (--study) NAME so that every worker joins"),
        ({"accuracy_proxy": "macs", "refine": 2}, "refine (--refine) measures the best subnets' accuracy"),
    ],
)
def test_refusals_name_the_field_a_python_caller_set_and_its_flag(options, said):
    """A Python caller read '--population 0: ...', a flag it cannot pass, not the field it set."""
    with pytest.raises(UserError) as caught:
        SearchOptions(latency=["16ms"], **options)
    assert str(caught.value).startswith(said)


def test_refine_is_refused_with_a_shared_study():
    """Each --refine round added trials scored with that run's refitted predictor to the shared study."""
    with pytest.raises(UserError) as caught:
        SearchOptions(latency=["16ms"], algo="tpe", storage="sqlite:///s.db", study="s", refine=2)
    said = str(caught.value)
    assert said.startswith("refine (--refine) refits the accuracy predictor for this run only, and storage (--storage)")
    assert "Refine without a shared study (drop storage (--storage) and study (--study))" in said
    assert SearchOptions(latency=["16ms"], algo="tpe", refine=2).refine == 2


def test_an_algorithm_refusal_names_the_fields_and_their_flags():
    with pytest.raises(UserError) as caught:
        check_algorithm_options(SearchOptions(latency=["16ms"], algo="tpe", population=20))
    assert str(caught.value).startswith("population (--population) shapes the evolution; algo (--algo) tpe runs")


@pytest.mark.parametrize("algo", ["evolution", "random"])
def test_a_shared_study_for_an_algorithm_optuna_does_not_run_is_refused_with_the_other_pairings(algo):
    """It was refused in make_algorithm, after the tables and the accuracy predictor had loaded."""
    with pytest.raises(UserError, match=rf"^storage \(--storage\) shares an Optuna study; .* not {algo}\.$"):
        check_algorithm_options(SearchOptions(latency=["16ms"], algo=algo, storage="sqlite:///s.db", study="s"))
