"""Evolutionary search with once-for-all's EvolutionFinder semantics, vectorized over the population.

Each generation keeps the best ``parent_ratio`` of the population as parents and adds
``population`` children: ``mutation_ratio`` of them mutate a random parent (each gene
resampled with ``mutate_prob``, the resolution with ``resolution_mutate_prob``), the rest
are uniform crossovers of two random parents. Children that break a bound are regenerated
the same way, ``tries`` candidates per child in one batch; after ``pull_after`` failed
rounds they are also pulled towards the problem's anchor (a genome known to meet the
bounds), so tight budgets converge quickly.
Bounds are checked before accuracy is predicted, so only feasible children cost an MLP
pass, and a child that repeats a known network reuses its prediction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.search.algorithms.base import SearchResult
from ofa_edge.search.problem import SearchProblem, network_keys
from ofa_edge.space.genome import crossover, mutate


@dataclass
class Evolution:
    population: int = 100
    parent_ratio: float = 0.25
    mutation_ratio: float = 0.5
    mutate_prob: float = 0.1
    resolution_mutate_prob: float = 0.5
    max_rounds: int = 20
    pull_after: int = 3
    tries: int = 4
    name: str = "evolution"

    @property
    def children(self) -> int:
        return self.population

    def budget_for(self, generations: int) -> int:
        """Evaluations of a run of ``generations`` generations (repairs not counted)."""
        return self.population + generations * self.children

    def search(self, problem: SearchProblem, budget: int, rng: np.random.Generator) -> SearchResult:
        start = time.perf_counter()
        generations = max(0, (budget - self.population) // self.children)
        self._evals = self._predicted = 0
        pop = self._feasible(problem, problem.sample(self.population, rng), lambda n: problem.sample(n, rng), rng)
        acc = problem.accuracy(pop)
        self._predicted += len(pop)
        archive_g, archive_a = [pop], [acc]
        history = [float(acc.max())]
        n_par = max(2, round(self.population * self.parent_ratio))
        n_mut = round(self.population * self.mutation_ratio)
        n_cross = self.population - n_mut
        for _ in range(generations):
            parents = pop[np.argsort(-acc, kind="stable")[:n_par]]
            par_acc = np.sort(acc)[::-1][:n_par]

            mutants = partial(self._mutants, problem, parents, rng)
            crosses = partial(self._crosses, parents, rng)
            kids = np.concatenate(
                [
                    self._feasible(problem, mutants(n_mut), mutants, rng, parents),
                    self._feasible(problem, crosses(n_cross), crosses, rng, parents),
                ]
            )
            kid_acc = self._accuracy(problem, kids, parents, par_acc)
            archive_g.append(kids), archive_a.append(kid_acc)
            pop = np.concatenate([parents, kids])
            acc = np.concatenate([par_acc, kid_acc])
            history.append(float(acc.max()))
        genomes = np.concatenate(archive_g)
        accuracy = np.concatenate(archive_a)
        return SearchResult(
            self.name,
            genomes,
            accuracy,
            np.ones(len(genomes), bool),
            self._evals,
            time.perf_counter() - start,
            history,
            {"generations": generations, "accuracy_predictions": self._predicted},
        )

    def _mutants(self, problem: SearchProblem, parents: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
        g = mutate(problem.space, parents[rng.integers(len(parents), size=n)], rng, self.mutate_prob)
        flip = rng.random(n) < self.resolution_mutate_prob
        g[flip, 0] = problem.sample(int(flip.sum()), rng)[:, 0]
        return g

    @staticmethod
    def _crosses(parents: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
        pick = rng.integers(len(parents), size=(2, n))
        return crossover(parents[pick[0]], parents[pick[1]], rng)

    def _accuracy(
        self, problem: SearchProblem, kids: np.ndarray, parents: np.ndarray, par_acc: np.ndarray
    ) -> np.ndarray:
        """Predict only children that are new networks: a child equal to a parent (inactive genes
        ignored) or to an earlier child reuses that accuracy. Converged populations repeat a lot."""
        both = np.concatenate([parents, kids])
        _, first, inverse = np.unique(network_keys(problem.space, both), return_index=True, return_inverse=True)
        acc = np.empty(len(first))
        known = first < len(parents)
        acc[known] = par_acc[first[known]]
        if (~known).any():
            acc[~known] = problem.accuracy(both[first[~known]])
            self._predicted += int((~known).sum())
        return acc[inverse.reshape(-1)[len(parents) :]]

    def _feasible(
        self,
        problem: SearchProblem,
        genomes: np.ndarray,
        regenerate: Callable[[int], np.ndarray],
        rng: np.random.Generator,
        fallback: np.ndarray | None = None,
    ) -> np.ndarray:
        """Regenerate the rows that break a bound until all meet them (vectorized)."""
        genomes = problem.fix_resolution(genomes, rng)
        bad = np.flatnonzero(problem.violation(genomes) > 0)
        self._evals += len(genomes)
        for round_ in range(self.max_rounds):
            if not len(bad):
                return genomes
            # ``tries`` candidates per broken row in one batch; each row keeps its first feasible one.
            fresh = regenerate(self.tries * len(bad))
            if round_ >= self.pull_after:
                fresh = problem.pull_to_anchor(fresh, rng, min(1.0, 0.25 * (round_ - self.pull_after + 1)))
            fresh = problem.fix_resolution(fresh, rng)
            ok = (problem.violation(fresh) <= 0).reshape(self.tries, len(bad))
            self._evals += len(fresh)
            pick = ok.argmax(axis=0)  # first feasible try (0 where none is)
            genomes[bad] = fresh.reshape(self.tries, len(bad), -1)[pick, np.arange(len(bad))]
            bad = bad[~ok.any(axis=0)]
        if len(bad):
            ok = np.setdiff1d(np.arange(len(genomes)), bad)
            if len(ok):
                genomes[bad] = genomes[rng.choice(ok, size=len(bad))]
            elif fallback is not None:
                genomes[bad] = fallback[rng.integers(len(fallback), size=len(bad))]
            else:
                raise UserError(
                    "no subnet meeting all the bounds at once was found: each bound alone is achievable, but "
                    "together they seem not to be (the smallest/fastest subnet breaks one of them). Relax a bound."
                )
        return genomes
