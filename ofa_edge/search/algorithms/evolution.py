"""Evolutionary search with once-for-all's EvolutionFinder semantics, vectorized over the population.

Each generation keeps the best ``parent_ratio`` of the population as parents and adds
``population`` children: ``mutation_ratio`` of them mutate a random parent (each gene
resampled with ``mutate_prob``, the resolution with ``resolution_mutate_prob``), the rest
are uniform crossovers of two random parents. All children of a generation are drawn in one
batch. Children that break a bound are regenerated the same way (a mutant as a mutant, a
crossover as a crossover), ``tries`` candidates per child in one batch; after ``pull_after``
failed rounds they are also pulled towards the problem's anchor (a genome known to meet the
bounds), so tight budgets converge quickly.
Bounds are checked before accuracy is predicted, so only feasible children cost a predictor
pass, and each distinct network is predicted once per search (see :class:`PredictionCache`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.search.algorithms.base import SearchResult
from ofa_edge.search.problem import Metric, SearchProblem, network_keys
from ofa_edge.space.genome import GENOME_LEN
from ofa_edge.space.search_space import SearchSpace


@dataclass
class Evolution:
    """Once-for-all's evolutionary search (see the module docstring for each knob)."""

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
        self._evals = 0
        predict = PredictionCache(problem.space, problem.accuracy)
        pop = problem.sample(self.population, rng)
        pop = self._feasible(problem, pop, lambda rows: problem.sample(len(rows), rng), rng)
        acc = predict(pop)
        archive_g, archive_a = [pop], [acc]
        history = [float(acc.max())]
        n_par = max(2, round(self.population * self.parent_ratio))
        breed = Breeding.of(self, problem)
        for _ in range(generations):
            best = np.argsort(-acc, kind="stable")[:n_par]
            parents, par_acc = pop[best], acc[best]
            offspring = partial(breed, parents, rng)
            kids = self._feasible(problem, offspring(slice(None)), offspring, rng, parents)
            kid_acc = predict(kids)
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
            {
                "generations": generations,
                "accuracy_predictions": predict.predicted,
                "regenerated": self._evals - self.budget_for(generations),  # candidates that broke a bound, redrawn
            },
        )

    def _feasible(
        self,
        problem: SearchProblem,
        genomes: np.ndarray,
        regenerate: Callable[[np.ndarray], np.ndarray],
        rng: np.random.Generator,
        fallback: np.ndarray | None = None,
    ) -> np.ndarray:
        """Regenerate the rows that break a bound until all meet them (vectorized).
        ``regenerate(rows)`` draws a fresh candidate for each given row index."""
        bad = np.flatnonzero(~problem.feasible(genomes))
        self._evals += len(genomes)
        for round_ in range(self.max_rounds):
            if not len(bad):
                return genomes
            # ``tries`` candidates per broken row in one batch; each row keeps its first feasible one.
            fresh = regenerate(bad[None, :].repeat(self.tries, axis=0).ravel())
            if round_ >= self.pull_after:
                fresh = problem.pull_to_anchor(fresh, rng, min(1.0, 0.25 * (round_ - self.pull_after + 1)))
            ok = problem.feasible(fresh).reshape(self.tries, len(bad))
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


@dataclass(frozen=True)
class Breeding:
    """How each child slot of a generation is bred, all slots in one batch.

    Slot ``i`` draws two parents ``a``, ``b`` at random and one uniform ``u`` per gene, and
    takes ``b``'s gene where ``u < limit``, else ``a``'s. For a crossover ``limit`` is 0.5
    (uniform crossover). For a mutant ``limit`` is the mutation probability and ``b`` is a
    fresh genome: each gene the choice ``u / limit`` falls on (uniform given ``u < limit``)."""

    problem: SearchProblem
    mutant: np.ndarray  # (children,) bool
    limit: np.ndarray  # (children, 46) float32
    scale: np.ndarray  # 1 / limit, 0 where limit is 0

    @classmethod
    def of(cls, evo: Evolution, problem: SearchProblem) -> Breeding:
        mutant = np.arange(evo.children) < round(evo.population * evo.mutation_ratio)
        limit = np.full((evo.children, GENOME_LEN), 0.5)
        limit[mutant] = evo.mutate_prob
        limit[mutant, 0] = evo.resolution_mutate_prob
        scale = np.divide(1.0, limit, out=np.zeros_like(limit), where=limit > 0)
        return cls(problem, mutant, limit.astype(np.float32), scale)

    def __call__(self, parents: np.ndarray, rng: np.random.Generator, rows: np.ndarray | slice) -> np.ndarray:
        """One child for each slot in ``rows`` (an index array, slots may repeat; or a slice)."""
        limit, scale, mutant = self.limit[rows], self.scale[rows], self.mutant[rows]
        n = len(limit)
        draw = rng.random(n * (GENOME_LEN + 2), dtype=np.float32)  # a uniform per gene, then two parents per child
        u = draw[: n * GENOME_LEN].reshape(n, GENOME_LEN)
        pick = (draw[n * GENOME_LEN :].astype(np.float64) * len(parents)).astype(np.intp)
        a, b = parents[pick[:n]], parents[pick[n:]]
        mut = np.flatnonzero(mutant)
        b[mut] = self.problem.genes(u[mut] * scale[mut])
        return np.where(u < limit, b, a)


class PredictionCache:
    """``accuracy`` memoized per distinct network (:func:`network_keys`) for one search.

    A call predicts, in one batch, only the networks not seen before (each once, however often
    it repeats in the batch); the rest are dictionary look-ups. Converged populations repeat
    parents and earlier children a lot, so this skips over half of the predictions."""

    def __init__(self, space: SearchSpace, accuracy: Metric) -> None:
        self.space, self.accuracy = space, accuracy
        self.known: dict[bytes, float] = {}
        self.predicted = 0

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        keys = network_keys(self.space, genomes).tolist()
        known = self.known
        new = {k: i for i, k in reversed(list(enumerate(keys))) if k not in known}  # unseen key -> its first row
        if new:
            rows = np.fromiter(new.values(), np.intp, len(new))
            known.update(zip(new, np.asarray(self.accuracy(genomes[rows]), np.float64).tolist()))
            self.predicted += len(new)
        return np.fromiter(map(known.__getitem__, keys), np.float64, len(keys))
