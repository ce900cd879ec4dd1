"""DyNAS-T-style refinement: measure the search's best subnets for real, refit, search again.

A predictor fitted on random subnets is least certain exactly where the search ends up (the
accurate edge of the feasible set). Each round measures the :data:`PER_ROUND` best distinct
feasible subnets on the held-out split, adds them to the predictor's training data (and the
accuracy cache), refits, and reruns the search with the refined predictor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ofa_edge.search.algorithms.base import SearchResult
from ofa_edge.search.predictor import AccuracyPredictor
from ofa_edge.search.problem import SearchProblem
from ofa_edge.space.genome import decode

if TYPE_CHECKING:
    from ofa_edge.search.accuracy import MeasureSettings

PER_ROUND = 5  # subnets measured for real per refinement round


def refine(
    problem: SearchProblem,
    search: Callable[[], SearchResult],
    supernet: str | Path,
    data_root: str | Path,
    n_samples: int,
    rounds: int,
    *,
    settings: MeasureSettings | None = None,
    progress: bool = True,
) -> tuple[SearchResult, list[dict]]:
    """Run ``rounds`` measure-refit-search rounds; returns the last result and per-round logs
    (measured vs predicted top-1 of the subnets measured, refitted predictor quality)."""
    from ofa_edge.search.accuracy import collect, measure  # torch: only when subnets are measured

    genomes, top1, _ = collect(supernet, data_root, n_samples, settings=settings, progress=progress)
    result = search()
    log = []
    for r in range(rounds):
        best = result.genomes[result.distinct_feasible(problem.space)[:PER_ROUND]]
        predicted = problem.accuracy(best)
        measured, _ = measure(supernet, data_root, decode(problem.space, best), settings=settings, progress=progress)
        genomes, top1 = np.concatenate([genomes, best]), np.concatenate([top1, measured])
        pred = AccuracyPredictor.fit(problem.space, genomes, top1, seed=r + 1)
        problem.accuracy = pred.predict
        log.append(
            {
                "round": r + 1,
                "measured": measured.tolist(),
                "predicted_before": predicted.tolist(),
                "rmse": pred.report.rmse,
                "kendall_tau": pred.report.kendall_tau,
                "train_size": len(top1),
            }
        )
        result = search()
    return result, log
