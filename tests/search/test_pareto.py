"""The Pareto-front plot: an estimated table's panel says so, and only points meeting every bound look selectable."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ofa_edge.search.pareto import Front, front_figure, plot_fronts, selectable_front


def _front(feasible: list[bool], *, estimated: bool) -> Front:
    n = len(feasible)
    return Front(np.linspace(1, 2, n), np.linspace(70, 80, n), np.array(feasible), 1.8, estimated, (1.5, 75.0))


@pytest.fixture()
def figure():
    fronts = {"x86-cpu": _front([True, True, False], estimated=False), "pixel-8": _front([True, True], estimated=True)}
    fig = front_figure(fronts, "predicted top-1 (%)")
    yield {ax.get_title(): ax for ax in fig.axes}
    plt.close(fig)


def test_an_estimated_table_is_named_in_its_panel(figure):
    assert set(figure) == {"x86-cpu", "pixel-8 (estimated table)"}
    assert figure["pixel-8 (estimated table)"].get_xlabel() == "predicted latency on pixel-8 (ms, estimated table)"
    assert figure["x86-cpu"].get_xlabel() == "predicted latency on x86-cpu (ms)"


def test_points_that_break_a_bound_are_told_apart(figure):
    """A point under this device's budget may break another device's: it is drawn apart, not as selectable."""
    lines = {line.get_label(): line for line in figure["x86-cpu"].get_lines()}
    assert list(lines["meets every bound"].get_xdata()) == [1.0, 1.5]
    assert list(lines["breaks some bound"].get_xdata()) == [2.0]
    assert lines["meets every bound"].get_marker() != lines["breaks some bound"].get_marker()
    legend = [t.get_text() for t in figure["x86-cpu"].get_legend().get_texts()]
    assert "breaks some bound" in legend and "meets every bound" in legend
    assert "breaks some bound" not in {line.get_label() for line in figure["pixel-8 (estimated table)"].get_lines()}


def test_a_budget_far_above_the_front_is_named_and_leaves_the_axis_to_the_front():
    """A loose budget (15 ms over a front ending at 2 ms) drawn as a line squashed the front against the y axis."""
    loose = Front(np.linspace(1, 2, 3), np.linspace(70, 80, 3), np.ones(3, bool), 15.0, False, (2.0, 80.0))
    fig = front_figure({"d": loose, "e": _front([True, True], estimated=False)}, "acc")
    (ax, near) = fig.axes
    assert ax.get_xlim()[1] < 3
    assert "budget 15 ms (off the axis, above all)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert near.get_xlim()[0] < 1.8 < near.get_xlim()[1]  # a budget within the front is drawn where it is
    assert "budget 1.8 ms" in [t.get_text() for t in near.get_legend().get_texts()]
    plt.close(fig)


def test_plot_writes_a_png(tmp_path):
    plot_fronts(tmp_path / "p.png", {"d": _front([True], estimated=False)}, "acc")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_the_front_is_of_the_points_that_meet_every_bound_with_those_beyond_it_that_break_one():
    """Over every point, the most accurate feasible one (b, the search's choice) was hidden behind c, which breaks
    a bound: pareto.csv lacked the chosen subnet. c stays, marked, as what a looser bound would buy; d, dominated
    by c, does not."""
    cost = np.array([1.0, 2.0, 1.5, 3.0, 2.5])  # a, b, c, d, e
    accuracy = np.array([1.0, 2.0, 3.0, 2.5, 1.5])
    feasible = np.array([True, True, False, False, True])  # e: feasible, dominated by b
    assert list(selectable_front(accuracy, cost, feasible)) == [0, 2, 1]


def test_the_front_line_joins_only_the_points_that_meet_every_bound(figure):
    lines = {line.get_label(): line for line in figure["x86-cpu"].get_lines()}
    assert list(lines["Pareto front"].get_xdata()) == [1.0, 1.5]
