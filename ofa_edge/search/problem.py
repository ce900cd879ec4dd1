"""A search problem: score batches of genomes (accuracy, bounded metrics) and tell feasibility.

Every metric is a function ``(N, 46) uint8 genomes -> (N,) float``; a :class:`Bound` caps one
of them. Algorithms see only :meth:`SearchProblem.evaluate`, so latency tables, analytic
costs and accuracy predictors are all scored in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.space.genome import DEPTH, EXPAND, GENOME_LEN, KERNEL, active_mask, choices
from ofa_edge.space.search_space import MAX_DEPTH, NUM_BLOCKS, NUM_STAGES, SearchSpace

Metric = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Bound:
    """``metric <= limit``. ``label`` is what the user typed (e.g. ``15ms on x86-cpu``)."""

    metric: str
    limit: float
    label: str


@dataclass
class Scores:
    """Scores of a batch: accuracy, every metric, total relative violation, feasibility."""

    accuracy: np.ndarray
    metrics: dict[str, np.ndarray]
    violation: np.ndarray

    @property
    def feasible(self) -> np.ndarray:
        """Whether each genome meets every bound."""
        return self.violation <= 0.0


@dataclass
class SearchProblem:
    """Maximise ``accuracy`` subject to ``bounds`` over the genomes of ``space``.

    ``metrics`` maps a name (``latency:<device>``, ``macs``, ``params``) to a batched function;
    ``resolutions`` restricts the resolution gene to those every latency table covers.
    """

    space: SearchSpace
    accuracy: Metric
    metrics: dict[str, Metric]
    bounds: list[Bound]
    resolutions: tuple[int, ...] = ()
    accuracy_name: str = "predicted top-1"
    anchor: np.ndarray | None = None
    _res_idx: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        outside = [r for r in self.resolutions if r not in self.space.resolutions]
        if outside:
            raise UserError(
                f"SearchProblem resolutions: {self.space.not_in_space('resolution', outside)}; "
                "pass some of those, or none for all."
            )
        allowed = self.resolutions or self.space.resolutions
        self.resolutions = tuple(r for r in self.space.resolutions if r in allowed)
        self._res_idx = np.array([self.space.resolutions.index(r) for r in self.resolutions], dtype=np.uint8)
        self._choices = choices(self.space).astype(np.float64)
        self._choices[0] = len(self._res_idx)
        if self.anchor is None:  # the smallest subnet: every choice at its lowest index
            self.anchor = np.zeros(GENOME_LEN, dtype=np.uint8)
            self.anchor[0] = self._res_idx[0]

    # ------------------------------------------------------------- genomes
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` uniform genomes over the allowed resolutions."""
        return self.genes(rng.random((n, GENOME_LEN)))

    def genes(self, u: np.ndarray) -> np.ndarray:
        """Genomes from uniforms in ``[0, 1)`` of shape ``(N, 46)``: each gene the choice its
        number falls on (resolution among the allowed ones); numbers ``>= 1`` read as the last."""
        g = u * self._choices
        np.minimum(g, self._choices - 1, out=g)
        g = g.astype(np.uint8)
        g[:, 0] = self._res_idx[g[:, 0]]
        return g

    def pull_to_anchor(self, genomes: np.ndarray, rng: np.random.Generator, prob: float = 0.5) -> np.ndarray:
        """Repair step: each gene takes the anchor's value (a genome meeting the bounds, e.g. the
        fastest subnet) with probability ``prob``; repeated, it converges on the anchor."""
        return np.where(rng.random(genomes.shape) < prob, self.anchor[None, :], genomes).astype(np.uint8)

    # ------------------------------------------------------------- scoring
    def violation(self, genomes: np.ndarray) -> np.ndarray:
        """Sum over bounds of the relative excess ``max(0, value / limit - 1)`` (NaN -> inf)."""
        return self._violation(len(genomes), lambda m: self.metrics[m](genomes))

    def _violation(self, n: int, value_of: Callable[[str], np.ndarray]) -> np.ndarray:
        total = np.zeros(n)
        for b in self.bounds:
            v = value_of(b.metric) / b.limit - 1.0
            total += np.where(np.isnan(v), np.inf, np.maximum(v, 0.0))
        return total

    def feasible(self, genomes: np.ndarray) -> np.ndarray:
        """Whether each genome meets every bound (``value <= limit``; NaN never does)."""
        ok = np.ones(len(genomes), dtype=bool)
        for b in self.bounds:
            ok &= self.metrics[b.metric](genomes) <= b.limit
        return ok

    def evaluate(self, genomes: np.ndarray, metrics: Sequence[str] | None = None) -> Scores:
        """Accuracy, the named metrics (default: all) and the violation of a batch."""
        names = list(self.metrics) if metrics is None else list(metrics)
        values = {m: self.metrics[m](genomes) for m in names}
        total = self._violation(len(genomes), lambda m: values[m] if m in values else self.metrics[m](genomes))
        return Scores(np.asarray(self.accuracy(genomes), dtype=np.float64), values, total)

    def bound_metrics(self) -> list[str]:
        return list(dict.fromkeys(b.metric for b in self.bounds))


def network_keys(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """One exact key per distinct network: the genome with inactive blocks' genes zeroed,
    viewed as one 46-byte value (sortable, comparable; ``.tolist()`` gives hashable bytes)."""
    g = genomes.copy()
    genes = g[:, KERNEL.start : EXPAND.stop].reshape(len(g), 2, NUM_BLOCKS)  # a view: kernels, expands
    genes *= active_mask(space, g)[:, None, :]
    return g.view(np.dtype((np.void, GENOME_LEN))).ravel()


def exact_minimum(space: SearchSpace, metric: Metric, resolutions: Sequence[int]) -> tuple[float, np.ndarray]:
    """The exact minimum of a block-additive metric over the whole space, and a genome reaching it.

    Latency tables, MACs and params are ``fixed(r) + sum of active blocks' values`` (an
    increasing affine map of it for a corrected table), so stages are independent given the
    resolution: vary one stage at a time around a reference genome, keep each stage's best,
    and combine. ``~7,400`` genomes per stage and resolution, all scored in one batch.
    """
    stage_options = _stage_options(space)
    best_val, best_genome = np.inf, None
    for r in resolutions:
        ref = np.zeros(GENOME_LEN, dtype=np.uint8)
        ref[0] = space.resolutions.index(r)
        batch = np.repeat(ref[None, :], NUM_STAGES * len(stage_options), axis=0)
        for s in range(NUM_STAGES):
            rows = slice(s * len(stage_options), (s + 1) * len(stage_options))
            _place_stage(batch[rows], s, stage_options)
        values = metric(batch).reshape(NUM_STAGES, len(stage_options))
        base = float(metric(ref[None, :])[0])
        if np.isnan(base):
            continue
        choice = values.argmin(axis=1)
        total = base + float((values[np.arange(NUM_STAGES), choice] - base).sum())
        if total < best_val:
            genome = ref.copy()
            for s in range(NUM_STAGES):
                _place_stage(genome[None, :], s, stage_options[choice[s] : choice[s] + 1])
            best_val, best_genome = total, genome
    if best_genome is None:
        raise ValueError("metric is undefined at every resolution")
    return float(metric(best_genome[None, :])[0]), best_genome


def exact_maximum(space: SearchSpace, metric: Metric, resolutions: Sequence[int]) -> float:
    """The exact maximum of a block-additive metric over the whole space (the minimum of its negation)."""
    value, _ = exact_minimum(space, lambda genomes: -metric(genomes), resolutions)
    return -value


def _stage_options(space: SearchSpace) -> np.ndarray:
    """Every distinct setting of one stage: rows ``[depth_idx, k0, e0, ..., k3, e3]``
    (genes of blocks beyond the depth left at index 0)."""
    n_ke = len(space.kernels) * len(space.expands)
    rows = []
    for di, d in enumerate(space.depths):
        grid = np.indices((n_ke,) * d).reshape(d, -1).T  # (n_ke**d, d)
        opt = np.zeros((len(grid), 1 + 2 * MAX_DEPTH), dtype=np.uint8)
        opt[:, 0] = di
        opt[:, 1 : 1 + 2 * d : 2] = grid // len(space.expands)
        opt[:, 2 : 2 + 2 * d : 2] = grid % len(space.expands)
        rows.append(opt)
    return np.concatenate(rows)


def _place_stage(genomes: np.ndarray, stage: int, options: np.ndarray) -> None:
    """Write stage settings into genomes (row-wise broadcast)."""
    first = stage * MAX_DEPTH
    genomes[:, DEPTH.start + stage] = options[:, 0]
    k0 = KERNEL.start + first
    e0 = EXPAND.start + first
    genomes[:, k0 : k0 + MAX_DEPTH] = options[:, 1::2]
    genomes[:, e0 : e0 + MAX_DEPTH] = options[:, 2::2]
