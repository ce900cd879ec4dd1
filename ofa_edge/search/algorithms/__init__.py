"""Search algorithms behind one interface: ``search(problem, budget, rng) -> SearchResult``."""

from __future__ import annotations

from ofa_edge.search.algorithms.base import SearchAlgorithm, SearchResult
from ofa_edge.search.algorithms.evolution import Evolution
from ofa_edge.search.algorithms.optuna_search import OptunaSearch
from ofa_edge.search.algorithms.random_search import RandomSearch

ALGORITHMS = ("evolution", "tpe", "nsga2", "random")

__all__ = ["ALGORITHMS", "Evolution", "OptunaSearch", "RandomSearch", "SearchAlgorithm", "SearchResult"]
