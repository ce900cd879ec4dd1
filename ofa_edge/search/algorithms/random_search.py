"""Random search: the baseline every other algorithm must beat at equal evaluations."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ofa_edge.search.algorithms.base import SearchResult
from ofa_edge.search.problem import SearchProblem


@dataclass
class RandomSearch:
    """Uniform samples in chunks; accuracy is predicted only for feasible ones."""

    chunk: int = 4096
    name: str = "random"

    def search(self, problem: SearchProblem, budget: int, rng: np.random.Generator) -> SearchResult:
        start = time.perf_counter()
        genomes, accs, feas, history = [], [], [], []
        done, best = 0, float("nan")
        while done < budget:
            g = problem.sample(min(self.chunk, budget - done), rng)
            ok = problem.violation(g) <= 0
            acc = np.full(len(g), np.nan)
            if ok.any():
                acc[ok] = problem.accuracy(g[ok])
            genomes.append(g), accs.append(acc), feas.append(ok)
            done += len(g)
            if ok.any():
                best = float(np.fmax(best, np.max(acc[ok])))
            history.append(best)
        return SearchResult(
            self.name,
            np.concatenate(genomes),
            np.concatenate(accs),
            np.concatenate(feas),
            done,
            time.perf_counter() - start,
            history,
        )
