"""Methods: phases switch at the right epochs; each phase samples what it should."""

from __future__ import annotations

import pytest

from ofa_edge.errors import UserError
from ofa_edge.space import SearchSpace
from ofa_edge.space.search_space import MAX_DEPTH
from ofa_edge.train.methods import METHODS, MethodParams, make_method, split_epochs

SPACE = SearchSpace.get("mbv3-w1.0-cifar")


def _method(name: str, epochs: int, spe: int = 3, **kw):
    return make_method(name, SPACE, MethodParams(epochs=epochs, steps_per_epoch=spe, lr=0.1, **kw))


def test_ofa_phases_follow_ofa_epoch_ratios() -> None:
    m = _method("ofa", 590)
    assert [(p.name, p.start, p.end) for p in m.phases] == [
        ("full", 0, 180), ("kernel", 180, 300), ("depth-1", 300, 325),
        ("depth-2", 325, 445), ("expand-1", 445, 470), ("expand-2", 470, 590),
    ]  # fmt: skip
    assert [p.subnets for p in m.phases] == [1, 1, 2, 2, 4, 4]
    small = _method("ofa", 6)
    assert [(p.start, p.end) for p in small.phases] == [(i, i + 1) for i in range(6)]
    with pytest.raises(UserError, match="at least 6 epochs"):
        _method("ofa", 5)


@pytest.mark.parametrize("epochs", [6, 7, 10, 13, 40, 100])
def test_split_epochs_gives_every_phase_an_epoch(epochs: int) -> None:
    ends = split_epochs([180, 120, 25, 120, 25, 120], epochs, "ofa")
    assert ends[-1] == epochs
    assert all(b > a for a, b in zip([0, *ends], ends))


def test_progressive_phases_switch_and_sample_their_dimensions() -> None:
    m = _method("ofa", 6, spe=2)
    seen = {}
    for it in range(12):
        plan = m.plan(it)
        assert plan.phase == m.phases[it // 2].name
        seen.setdefault(plan.phase, []).extend(j.cfg for j in plan.jobs)
        assert len(plan.jobs) == m.phases[it // 2].subnets
    assert seen["full"] == [SPACE.max()] * 2
    assert all(set(c.depth) == {4} and set(c.expand) == {6} for c in seen["kernel"])
    assert all(set(c.depth) <= {3, 4} and set(c.expand) == {6} for c in seen["depth-1"])
    assert all(set(c.expand) <= {4, 6} for c in seen["expand-1"])
    assert {e for c in seen["expand-2"] for e in c.expand} == {3, 4, 6}
    assert all(j.loss == "teacher_kd" for it in range(2, 12) for j in m.plan(it).jobs)


def test_compofa_couples_depth_and_expand() -> None:
    m = _method("compofa", 4, spe=4)
    assert [p.name for p in m.phases] == ["full", "kernel", "compound-1", "compound-2"]
    coupling = {2: 3, 3: 4, 4: 6}
    for it in range(8, 16):
        for job in m.plan(it).jobs:
            for s, d in enumerate(job.cfg.depth):
                assert set(job.cfg.expand[s * MAX_DEPTH : (s + 1) * MAX_DEPTH]) == {coupling[d]}


@pytest.mark.parametrize("name", ["deps", "bignas"])
def test_sandwich_rule(name: str) -> None:
    m = _method(name, 4, spe=2, warmup_frac=0.5, eps_epochs=1, subnets_per_step=4)
    shrink_it = 4 if name == "deps" else 0
    for it in range(8):
        jobs = m.plan(it).jobs
        if it < shrink_it:
            assert [(j.cfg, j.loss) for j in jobs] == [(SPACE.max(), "ce")]
            continue
        assert [j.loss for j in jobs] == ["ce", "inplace_kd", "inplace_kd", "inplace_kd"]
        assert jobs[0].cfg == SPACE.max() and jobs[1].cfg == SPACE.min()
    assert m.plan(7).jobs[2].cfg == m.plan(7).jobs[2].cfg  # sampling is a function of the iteration


def test_registry_names() -> None:
    assert set(METHODS) == {"deps", "ofa", "bignas", "compofa"}
    with pytest.raises(UserError, match="unknown training method"):
        make_method("spos", SPACE, MethodParams(epochs=1, steps_per_epoch=1, lr=0.1))
