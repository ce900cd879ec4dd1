"""Optuna TPE / NSGA-II search: what a shared study accepts from a later run."""

from __future__ import annotations

import numpy as np
import pytest

from ofa_edge.errors import UserError
from ofa_edge.search.algorithms import OptunaSearch
from ofa_edge.search.problem import Bound, SearchProblem
from ofa_edge.space import CostModel, SearchSpace


def test_a_study_of_other_resolutions_is_refused_by_name(make_table, tmp_path):
    """A study whose trials chose among other resolutions (a table covering fewer joined later) cannot take
    this run's trials: Optuna fails them with 'dynamic value space', which was an internal error."""
    sp = SearchSpace.get("mbv3-w1.0-cifar")
    table = make_table("dev")
    acc = CostModel(sp, 10).macs

    def problem(resolutions: tuple[int, ...]) -> SearchProblem:
        limit = float(table.predict([sp.max()])[0])
        return SearchProblem(sp, acc, {"latency:dev": table.predict}, [Bound("latency:dev", limit, "dev")], resolutions)

    storage = str(tmp_path / "study.journal")
    OptunaSearch("tpe", storage, "s").search(problem((24, 28, 32)), 3, np.random.default_rng(0))
    with pytest.raises(UserError, match=r"resolutions 24, 28, 32 there, 28, 32 here") as e:
        OptunaSearch("tpe", storage, "s").search(problem((28, 32)), 3, np.random.default_rng(1))
    assert "--study" in str(e.value)
    assert (
        len(OptunaSearch("tpe", storage, "s").search(problem((24, 28, 32)), 1, np.random.default_rng(2)).genomes) == 4
    )


@pytest.mark.parametrize("sampler", ["tpe", "nsga2"])
@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_workers_of_a_study_given_one_seed_sample_apart(make_table, tmp_path, sampler, kind):
    """Each worker seeded its sampler with --seed (0 unless given), so a second worker joining the study drew the
    first one's trials again; a worker alone still draws the same trials from the same seed."""
    sp = SearchSpace.get("mbv3-w1.0-cifar")
    table = make_table("dev")
    limit = float(table.predict([sp.max()])[0])
    problem = SearchProblem(
        sp, CostModel(sp, 10).macs, {"latency:dev": table.predict}, [Bound("latency:dev", limit, "dev")], (24, 28, 32)
    )

    def storage(name: str) -> str:
        return str(tmp_path / f"{name}.journal") if kind == "journal" else f"sqlite:///{tmp_path / name}.db"

    shared = storage("shared")
    for _ in range(2):  # two workers, one after the other, both with the default seed
        genomes = OptunaSearch(sampler, shared, "s").search(problem, 4, np.random.default_rng(0)).genomes
    assert len(genomes) == 8 and len(np.unique(genomes, axis=0)) == 8
    alone = OptunaSearch(sampler, storage("alone"), "s").search(problem, 4, np.random.default_rng(0)).genomes
    assert (alone == genomes[:4]).all()
