"""Subnet search: constraints, accuracy predictor, algorithms, Pareto fronts and reports.

``from ofa_edge.search import SearchOptions, run_search`` runs what ``ofa-edge search`` runs; the two
are imported on first use, so the other search modules load without the whole search stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ofa_edge.search.runner import SearchOptions, run_search

__all__ = ["SearchOptions", "run_search"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ofa_edge.search import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'ofa_edge.search' has no attribute '{name}'")
