"""The final candidates' order: near-equal predictions rank by cost, the rest by accuracy."""

from __future__ import annotations

import numpy as np

from ofa_edge.search.ranking import rank_candidates

ACC = np.array([82.180, 82.177, 80.0, 82.100, 80.0])
COST = np.array([2.94, 2.78, 1.0, 2.50, 0.9])


def test_equals_within_the_tie_lead_cheapest_first() -> None:
    assert rank_candidates(ACC, COST, tie=0.05).tolist() == [1, 0, 3, 4, 2]


def test_a_wider_tie_takes_in_more_and_tie_zero_ranks_by_accuracy_alone() -> None:
    assert rank_candidates(ACC, COST, tie=0.1).tolist()[:3] == [3, 1, 0]
    assert rank_candidates(ACC, COST, tie=0.0).tolist() == [0, 1, 3, 4, 2]  # exact equals: cheaper first
