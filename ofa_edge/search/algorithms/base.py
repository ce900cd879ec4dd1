"""The interface every search algorithm implements, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ofa_edge.search.problem import SearchProblem, network_keys
from ofa_edge.space.search_space import SearchSpace


@dataclass
class SearchResult:
    """Every candidate an algorithm scored: genomes, predicted accuracy (NaN where it was not
    needed because the candidate was infeasible) and feasibility, plus cost counters."""

    algorithm: str
    genomes: np.ndarray
    accuracy: np.ndarray
    feasible: np.ndarray
    evaluations: int
    seconds: float
    history: list[float] = field(default_factory=list)  # best feasible accuracy so far, per round (NaN: none yet)
    extra: dict = field(default_factory=dict)

    def best_index(self) -> int | None:
        """Index of the most accurate feasible candidate (first on ties), or None."""
        if not self.feasible.any():
            return None
        acc = np.where(self.feasible, self.accuracy, -np.inf)
        return int(np.argmax(acc))

    def distinct_feasible(self, space: SearchSpace) -> np.ndarray:
        """Indices of the feasible candidates, most accurate first (first on ties), one per distinct
        network (inactive blocks' genes ignored)."""
        idx = np.flatnonzero(self.feasible)
        idx = idx[np.argsort(-self.accuracy[idx], kind="stable")]
        _, first = np.unique(network_keys(space, self.genomes[idx]), return_index=True)
        return idx[np.sort(first)]

    @property
    def best_accuracy(self) -> float:
        i = self.best_index()
        return float("nan") if i is None else float(self.accuracy[i])


class SearchAlgorithm(Protocol):
    """``search(problem, budget, rng)``: at most ``budget`` candidate evaluations (an
    algorithm may count repairs on top, and reports its true count in the result)."""

    name: str

    def search(self, problem: SearchProblem, budget: int, rng: np.random.Generator) -> SearchResult: ...
