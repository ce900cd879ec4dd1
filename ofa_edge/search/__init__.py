"""Subnet search: constraints, accuracy predictor, algorithms, Pareto fronts and reports.

``from ofa_edge.search import SearchOptions, run_search`` runs what ``ofa-edge search`` runs; the two
are imported on first use, so the other search modules load without the whole search stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ofa_edge.lazy import lazy_exports

if TYPE_CHECKING:
    from ofa_edge.search.options import SearchOptions
    from ofa_edge.search.runner import run_search

__all__ = ["SearchOptions", "run_search"]
__getattr__ = lazy_exports(
    __name__, {"SearchOptions": "ofa_edge.search.options", "run_search": "ofa_edge.search.runner"}
)
