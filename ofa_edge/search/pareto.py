"""Pareto fronts (accuracy up, latency down) as CSV and PNG."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ofa_edge.io import atomic_write, atomic_write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pareto_front(accuracy: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points (max accuracy, min cost), by increasing cost."""
    order = np.lexsort((-accuracy, cost))
    best = np.maximum.accumulate(accuracy[order])
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = accuracy[order][1:] > best[:-1]
    return order[keep]


def selectable_front(accuracy: np.ndarray, cost: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """Indices, by increasing cost, of the Pareto front of the points that meet every bound (``feasible``: what a
    search can choose), and of the points that break some bound yet no point dominates (what a looser bound
    would buy). A front over every point hid the feasible points that an infeasible one dominates."""
    ok = np.flatnonzero(feasible)
    overall = pareto_front(accuracy, cost)
    idx = np.concatenate([ok[pareto_front(accuracy[ok], cost[ok])], overall[~feasible[overall]]])
    return idx[np.argsort(cost[idx], kind="stable")]


def write_csv(path: str | Path, rows: Sequence[dict]) -> None:
    """Rows of equal keys -> CSV (atomic)."""
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


_SHOWN_BUDGET = 1.25  # a budget beyond this multiple of a front's slowest point is named, not drawn


@dataclass(frozen=True)
class Front:
    """One device's front as plotted (:func:`selectable_front`): its points' predicted latency (ms) and accuracy,
    whether each meets every bound of the search (all devices' budgets, MACs, params), and the device's
    budget, table kind and chosen subnet (latency, accuracy)."""

    latency: np.ndarray
    accuracy: np.ndarray
    feasible: np.ndarray
    budget: float | None
    estimated: bool
    chosen: tuple[float, float]


def front_figure(fronts: dict[str, Front], accuracy_label: str) -> Figure:
    """One panel per device: the front of the points that meet every bound (only those can be chosen), the points
    beyond it that break some bound, the budget line and the chosen subnet; an estimated table's panel says so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(fronts), figsize=(5 * len(fronts), 4), squeeze=False)
    for ax, (dev, f) in zip(axes[0], fronts.items(), strict=True):
        ok = f.feasible
        ax.step(f.latency[ok], f.accuracy[ok], where="post", color="tab:blue", alpha=0.5, label="Pareto front")
        ax.plot(f.latency[ok], f.accuracy[ok], "o", color="tab:blue", markersize=4, label="meets every bound")
        if not ok.all():
            ax.plot(f.latency[~ok], f.accuracy[~ok], "x", color="tab:gray", label="breaks some bound")
        if f.budget is not None and f.budget > _SHOWN_BUDGET * f.latency.max():  # a line there would squash the front
            ax.plot([], [], linestyle="--", color="tab:red", label=f"budget {f.budget:g} ms (off the axis, above all)")
        elif f.budget is not None:
            ax.axvline(f.budget, color="tab:red", linestyle="--", label=f"budget {f.budget:g} ms")
        ax.plot(*f.chosen, "*", color="tab:orange", markersize=14, label="chosen")
        kind = ", estimated table" if f.estimated else ""
        ax.set(
            xlabel=f"predicted latency on {dev} (ms{kind})",
            ylabel=accuracy_label,
            title=f"{dev} (estimated table)" if f.estimated else dev,
        )
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def plot_fronts(path: str | Path, fronts: dict[str, Front], accuracy_label: str) -> None:
    """:func:`front_figure` as a PNG (atomic)."""
    import matplotlib.pyplot as plt

    fig = front_figure(fronts, accuracy_label)
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110))
    plt.close(fig)
