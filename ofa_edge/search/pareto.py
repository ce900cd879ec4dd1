"""Pareto fronts (accuracy up, latency down) as CSV and PNG."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ofa_edge.io import atomic_write, atomic_write_text


def pareto_front(accuracy: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points (max accuracy, min cost), by increasing cost."""
    order = np.lexsort((-accuracy, cost))
    best = np.maximum.accumulate(accuracy[order])
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = accuracy[order][1:] > best[:-1]
    return order[keep]


def write_csv(path: str | Path, rows: Sequence[dict]) -> None:
    """Rows of equal keys -> CSV (atomic)."""
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def plot_fronts(
    path: str | Path,
    fronts: dict[str, tuple[np.ndarray, np.ndarray]],
    budgets: dict[str, float | None],
    chosen: dict[str, tuple[float, float]],
    accuracy_label: str,
) -> None:
    """One panel per device: the front (latency, accuracy), its budget line and the chosen subnet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(fronts), figsize=(5 * len(fronts), 4), squeeze=False)
    for ax, (dev, (lat, acc)) in zip(axes[0], fronts.items(), strict=True):
        ax.step(lat, acc, where="post", marker=".", label="Pareto front")
        if budgets.get(dev) is not None:
            ax.axvline(budgets[dev], color="tab:red", linestyle="--", label=f"budget {budgets[dev]:g} ms")
        if dev in chosen:
            ax.plot(*chosen[dev], "*", color="tab:orange", markersize=14, label="chosen")
        ax.set(xlabel=f"predicted latency on {dev} (ms)", ylabel=accuracy_label, title=dev)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110))
    plt.close(fig)
