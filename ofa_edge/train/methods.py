"""Training methods: which subnets a step trains, with which loss and gradient weight.

A method is a small object over the global iteration: :meth:`Method.plan` returns the
step's learning rate and its jobs (subnet, weight, loss kind). The trainer owns the loop;
adding a method means writing ``phases`` and ``plan``.

* ``deps`` — full model alone for ``warmup_frac`` of the epochs, then all dimensions shrink
  at once: sandwich rule (max with CE, min and random subnets with in-place KD), the
  subnets' weight β ramping per iteration (ε-shrinking, :func:`~ofa_edge.train.schedule.eps_beta`).
* ``bignas`` — the same sandwich with in-place KD from the first step, β = multiplier.
* ``ofa`` — progressive shrinking: full → kernel → depth (2 phases) → expand (2 phases), each
  phase with its own LR and subnets per step (OFA's ratios), KD from a frozen teacher (the
  full model at the end of the full phase). Epochs are split in OFA's ratios 180:120:25:120:25:120.
* ``compofa`` — progressive like ``ofa`` but depth and expand shrink together, coupled per
  stage (d2→e3, d3→e4, d4→e6): full → kernel → compound (2 phases), ratios 180:120:25:120.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.search_space import MAX_DEPTH, NUM_BLOCKS, NUM_STAGES, SearchSpace
from ofa_edge.train.schedule import cosine_lr, eps_beta

LossKind = Literal["ce", "inplace_kd", "teacher_kd"]


@dataclass(frozen=True)
class Job:
    """One subnet of a step: its config, gradient weight and loss."""

    cfg: SubnetConfig
    weight: float
    loss: LossKind


@dataclass(frozen=True)
class StepPlan:
    """What iteration ``it`` trains: its phase, LR, subnet weight β and the subnet jobs."""

    phase: str
    lr: float
    beta: float
    jobs: tuple[Job, ...]


@dataclass(frozen=True)
class Phase:
    """A span of epochs ``[start, end)`` and what may shrink in it (``None``: the max value only)."""

    name: str
    start: int
    end: int
    lr_scale: float = 1.0
    subnets: int = 1
    kernels: tuple[int, ...] | None = None
    depths: tuple[int, ...] | None = None
    expands: tuple[int, ...] | None = None
    compound: bool = False  # expand follows depth, stage by stage
    teacher: bool = False  # KD from the frozen full model

    @property
    def elastic(self) -> bool:
        """Whether any dimension shrinks in this phase."""
        return any(v is not None for v in (self.kernels, self.depths, self.expands))


# The sandwich's cap: each subnet adds a forward and a backward to every step, and BigNAS (max, min and 2
# random) and OFA's last phase train 4; 16 leaves room to study more without letting a typo (10000) run.
MAX_SUBNETS_PER_STEP = 16


@dataclass(frozen=True)
class MethodParams:
    """Hyperparameters every method reads (all epoch counts in epochs, LR absolute)."""

    epochs: int
    steps_per_epoch: int
    lr: float
    lr_warmup_epochs: float = 0.0
    warmup_frac: float = 0.5
    eps_epochs: float = 1.0
    subnets_per_step: int = 4
    beta_mult: float = 1.0
    seed: int = 0

    @property
    def total_iters(self) -> int:
        """Iterations of the whole run."""
        return self.epochs * self.steps_per_epoch


def split_epochs(weights: list[float], epochs: int, method: str) -> list[int]:
    """Phase boundaries (cumulative end epochs) in the ratio of ``weights``, each phase ≥ 1 epoch."""
    n = len(weights)
    if epochs < n:
        raise UserError(f"--method {method} has {n} phases and needs at least {n} epochs; got --epochs {epochs}.")
    cum = np.cumsum(weights) / sum(weights)
    ends, prev = [], 0
    for i, c in enumerate(cum):
        end = min(max(prev + 1, round(c * epochs)), epochs - (n - 1 - i))
        ends.append(end)
        prev = end
    return ends


def sample_config(
    space: SearchSpace,
    rng: np.random.Generator,
    kernels: tuple[int, ...] | None,
    depths: tuple[int, ...] | None,
    expands: tuple[int, ...] | None,
    compound: bool = False,
) -> SubnetConfig:
    """A random subnet restricted to the given choices (``None`` = the max value)."""
    res = int(rng.choice(space.resolutions))
    depth = rng.choice(depths or (max(space.depths),), NUM_STAGES)
    kernel = rng.choice(kernels or (max(space.kernels),), NUM_BLOCKS)
    if compound:
        coupling = dict(zip(sorted(space.depths), sorted(space.expands), strict=True))
        expand = np.repeat([coupling[int(d)] for d in depth], MAX_DEPTH)
    else:
        expand = rng.choice(expands or (max(space.expands),), NUM_BLOCKS)
    return SubnetConfig(space.name, res, tuple(map(int, depth)), tuple(map(int, kernel)), tuple(map(int, expand)))


def _top2(values: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(values)[-2:])


class Method(ABC):
    """A training method over the global iteration; see the module docstring."""

    name: ClassVar[str]
    uses_teacher: ClassVar[bool] = False
    uses_beta: ClassVar[bool] = True  # whether the subnets' losses are weighted by the plan's β

    def __init__(self, space: SearchSpace, params: MethodParams) -> None:
        self.space, self.p = space, params
        self._phases = self.build_phases()

    @abstractmethod
    def build_phases(self) -> list[Phase]:
        """The method's phases over ``params.epochs``."""

    @abstractmethod
    def plan(self, it: int) -> StepPlan:
        """Learning rate and subnet jobs of global iteration ``it``."""

    @classmethod
    def min_epochs(cls) -> int:
        """Fewest epochs the method can run (one per phase)."""
        return 1

    @classmethod
    def warmup_span(cls, epochs: int) -> int:
        """Epochs the LR warm-up can span: the whole run (progressive methods: the full phase)."""
        return epochs

    @property
    def phases(self) -> list[Phase]:
        """The method's phases, in order."""
        return list(self._phases)

    def phase_at(self, epoch: int) -> Phase:
        """The phase ``epoch`` falls in (the last one past the end)."""
        for ph in self._phases:
            if ph.start <= epoch < ph.end:
                return ph
        return self._phases[-1]

    def rng(self, it: int) -> np.random.Generator:
        """Subnet sampling randomness of iteration ``it`` (resume-safe: no saved state)."""
        return np.random.default_rng([self.p.seed, it, 0x5EED])


class Sandwich(Method):
    """Sandwich rule with in-place KD; subclasses say when shrinking starts and how β moves."""

    def shrink_epoch(self) -> int:
        return 0

    def build_phases(self) -> list[Phase]:
        s, e = self.shrink_epoch(), self.p.epochs
        sp = self.space
        shrink = Phase("shrink", s, e, 1.0, self.p.subnets_per_step, sp.kernels, sp.depths, sp.expands)
        return ([Phase("full", 0, s)] if s > 0 else []) + [shrink]

    def lr(self, it: int) -> float:
        warm = round(self.p.lr_warmup_epochs * self.p.steps_per_epoch)
        return cosine_lr(it, self.p.total_iters, self.p.lr, warm)

    def beta(self, it: int) -> float:
        return self.p.beta_mult

    def plan(self, it: int) -> StepPlan:
        phase = self.phase_at(it // self.p.steps_per_epoch)
        sp, lr = self.space, self.lr(it)
        max_job = Job(sp.max(), 1.0, "ce")
        if phase.name == "full":
            return StepPlan(phase.name, lr, 0.0, (max_job,))
        beta = self.beta(it)
        jobs = [max_job]
        if beta > 0.0:
            rng = self.rng(it)
            if self.p.subnets_per_step >= 2:
                jobs.append(Job(sp.min(), beta, "inplace_kd"))
            for _ in range(self.p.subnets_per_step - 2):
                jobs.append(Job(sample_config(sp, rng, sp.kernels, sp.depths, sp.expands), beta, "inplace_kd"))
        return StepPlan(phase.name, lr, beta, tuple(jobs))


def deps_shrink_epoch(warmup_frac: float, epochs: int) -> int:
    """The epoch DεpS starts shrinking at: the end of the full model's warm-up."""
    return round(warmup_frac * epochs)


class DepS(Sandwich):
    """Delayed ε-shrinking: the full model alone until ``warmup_frac``, then the sandwich with β ramping."""

    name = "deps"

    def shrink_epoch(self) -> int:
        return deps_shrink_epoch(self.p.warmup_frac, self.p.epochs)

    def beta(self, it: int) -> float:
        start = self.shrink_epoch() * self.p.steps_per_epoch
        ramp = min(round(self.p.eps_epochs * self.p.steps_per_epoch), self.p.total_iters - start)
        return eps_beta(it, start, ramp, self.p.beta_mult, self.lr)


class BigNAS(Sandwich):
    """The sandwich with in-place KD from the first step."""

    name = "bignas"


class Progressive(Method):
    """Progressive shrinking with a frozen teacher.

    The subclass's ``table`` rows are (phase name, epochs in OFA's ImageNet schedule, LR relative
    to --lr, subnets per step, what shrinks). OFA's kernel phase LR 3e-2 is taken as 1, so its
    depth/expand phases' 2.5e-3 and 7.5e-3 are 1/12 and 1/4; ``-1`` phases shrink a dimension to
    its two largest values, ``-2`` phases to all of them.
    """

    uses_teacher = True
    uses_beta = False  # every subnet's weight is 1
    table: ClassVar[list[tuple[str, int, float, int, str]]]

    @classmethod
    def min_epochs(cls) -> int:
        return len(cls.table)

    @classmethod
    def warmup_span(cls, epochs: int) -> int:
        return split_epochs([row[1] for row in cls.table], epochs, cls.name)[0]

    def build_phases(self) -> list[Phase]:
        sp = self.space
        ends = split_epochs([row[1] for row in self.table], self.p.epochs, self.name)
        starts = [0, *ends[:-1]]
        phases = []
        for (name, _, lr_scale, n, what), s, e in zip(self.table, starts, ends, strict=True):
            k = sp.kernels if what != "full" else None
            d = {"depth-1": _top2(sp.depths), "compound-1": _top2(sp.depths)}.get(what, sp.depths)
            d = d if what not in ("full", "kernel") else None
            ex = {"expand-1": _top2(sp.expands), "expand-2": sp.expands}.get(what)
            phases.append(Phase(name, s, e, lr_scale, n, k, d, ex, what.startswith("compound"), what != "full"))
        return phases

    def lr(self, it: int) -> float:
        spe = self.p.steps_per_epoch
        ph = self.phase_at(it // spe)
        warm = round(self.p.lr_warmup_epochs * spe) if ph.name == "full" else 0
        return cosine_lr(it - ph.start * spe, (ph.end - ph.start) * spe, self.p.lr * ph.lr_scale, warm)

    def plan(self, it: int) -> StepPlan:
        ph = self.phase_at(it // self.p.steps_per_epoch)
        lr = self.lr(it)
        if not ph.elastic:
            return StepPlan(ph.name, lr, 0.0, (Job(self.space.max(), 1.0, "ce"),))
        rng = self.rng(it)
        jobs = tuple(
            Job(sample_config(self.space, rng, ph.kernels, ph.depths, ph.expands, ph.compound), 1.0, "teacher_kd")
            for _ in range(ph.subnets)
        )
        return StepPlan(ph.name, lr, 1.0, jobs)  # β unused: every job's weight is 1


class OFA(Progressive):
    """Once-for-all's progressive shrinking: full, kernel, depth (2 phases), expand (2 phases)."""

    name = "ofa"
    table: ClassVar = [
        ("full", 180, 1.0, 1, "full"),
        ("kernel", 120, 1.0, 1, "kernel"),
        ("depth-1", 25, 1 / 12, 2, "depth-1"),
        ("depth-2", 120, 1 / 4, 2, "depth-2"),
        ("expand-1", 25, 1 / 12, 4, "expand-1"),
        ("expand-2", 120, 1 / 4, 4, "expand-2"),
    ]


class CompOFA(Progressive):
    """Progressive shrinking with depth and expand coupled per stage (d2→e3, d3→e4, d4→e6)."""

    name = "compofa"
    table: ClassVar = [
        ("full", 180, 1.0, 1, "full"),
        ("kernel", 120, 1.0, 1, "kernel"),
        ("compound-1", 25, 1 / 12, 2, "compound-1"),
        ("compound-2", 120, 1 / 4, 4, "compound-2"),
    ]


METHODS: dict[str, type[Method]] = {m.name: m for m in (DepS, OFA, BigNAS, CompOFA)}


def make_method(name: str, space: SearchSpace, params: MethodParams) -> Method:
    """The method called ``name``; unknown names are a :class:`UserError` listing the choices."""
    try:
        cls = METHODS[name]
    except KeyError:
        raise UserError(f"unknown training method '{name}'; choose one of {', '.join(METHODS)}.") from None
    return cls(space, params)
