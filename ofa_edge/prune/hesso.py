"""HESSO: Hybrid Efficient Structured Sparse Optimizer (OTOv3, Chen et al., 2023).

No regularisation weight: the user gives the target group sparsity. After ``start_step``
warm-up steps the pruning window of ``pruning_steps`` is cut into ``periods``. At the start
of each period the groups are scored (a weighted mix of normalised saliency criteria), and
the lowest-scoring not-yet-pruned groups -- enough to reach this period's share of the
target -- become *redundant*. During the period every step is plain momentum SGD on all
variables, after which each redundant group is scaled by (L-t-1)/(L-t), so it fades
linearly and is exactly zero at the period's end; from then on it is held at zero.

One group per channel space is never chosen, so no layer loses all its channels.
"""

from __future__ import annotations

import torch

from ofa_edge.errors import UserError, did_you_mean
from ofa_edge.prune.base import GroupSparseOptimizer
from ofa_edge.prune.zig import ZIGPartition
from ofa_edge.units import check_range

DEFAULT_CRITERIA = {"magnitude": 0.2, "avg_magnitude": 0.2, "cosine": 0.2, "taylor1": 0.2, "taylor2": 0.2}


def importance_scores(
    part: ZIGPartition, x: dict[str, torch.Tensor], d: dict[str, torch.Tensor], weights: dict[str, float]
) -> torch.Tensor:
    """Per-group saliency: each criterion normalised to unit l2 norm over groups, then mixed.

    magnitude ||x_g||; avg_magnitude ||x_g|| / |g|; cosine 1 - cos(x_g, d_g) (a group whose
    descent direction points along it is being shrunk by training); taylor1 |x_g . d_g|;
    taylor2 (x_g . d_g)^2 / 2 -- the first- and second-order estimates of the loss change
    when the group is removed. ``weights`` maps names of :data:`DEFAULT_CRITERIA` to their weights.
    """
    sq = part.sq_norms(x)
    norm = sq.sqrt()
    xd = part.dot(x, d)
    dn = part.sq_norms(d).sqrt()
    raw = {
        "magnitude": norm,
        "avg_magnitude": norm / part.numel(),
        "cosine": 1 - xd / (norm * dn).clamp_min(1e-30),
        "taylor1": xd.abs(),
        "taylor2": 0.5 * xd**2,
    }
    score = torch.zeros(part.num_groups, dtype=torch.float64)
    for name, w in weights.items():
        score += w * raw[name] / (raw[name].norm() + 1e-30)
    return score


class HESSO(GroupSparseOptimizer):
    """HESSO over the groups of ``part``, reaching ``target_sparsity`` of zero groups."""

    def __init__(
        self,
        part: ZIGPartition,
        lr: float,
        target_sparsity: float,
        pruning_steps: int,
        start_step: int = 0,
        periods: int = 5,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        criteria: dict[str, float] | None = None,
    ) -> None:
        check_range("target_sparsity", target_sparsity, gt=0, lt=1, hint="(e.g. 0.5)")
        check_range("periods", periods, ge=1)
        check_range("pruning_steps", pruning_steps, ge=periods, hint="(at least one step per period)")
        check_range("start_step", start_step, ge=0)
        unknown = sorted(set(criteria or ()) - set(DEFAULT_CRITERIA))
        if unknown:
            raise UserError(
                f"unknown importance criteria {unknown}; choose from {sorted(DEFAULT_CRITERIA)}."
                + did_you_mean(unknown[0], DEFAULT_CRITERIA)
            )
        super().__init__(part, lr, momentum, weight_decay)
        self.start_step, self.periods = start_step, periods
        self.period_len = pruning_steps // periods
        self.criteria = dict(criteria or DEFAULT_CRITERIA)
        prunable = part.num_groups - len(part.spaces)
        self.target_groups = min(int(target_sparsity * part.num_groups), prunable)
        self.pruned = torch.zeros(part.num_groups, dtype=torch.bool)
        self.redundant = torch.zeros(part.num_groups, dtype=torch.bool)

    def _select(self, d: dict[str, torch.Tensor], period: int) -> None:
        """Commit the last period's groups and pick this period's redundant groups."""
        self.pruned |= self.redundant
        want = self.target_groups * (period + 1) // self.periods - int(self.pruned.sum())
        x = {n: self.part.params[n].detach() for n in self.part.grouped_names}
        score = importance_scores(self.part, x, d, self.criteria)
        score[self.pruned] = float("inf")
        space = self.part.space_of()
        best = torch.full((len(self.part.spaces),), -float("inf"), dtype=score.dtype)
        best = best.scatter_reduce(0, space, torch.where(self.pruned, -float("inf"), score), "amax")
        protected = torch.zeros_like(self.pruned)
        protected[torch.nonzero(score == best[space]).flatten()] = True  # each space's best group
        score[protected] = float("inf")
        self.redundant = torch.zeros_like(self.pruned)
        if want > 0:
            self.redundant[torch.topk(-score, want).indices] = True
            self.redundant &= torch.isfinite(score)

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        d = self.directions()
        t = self.num_steps - self.start_step
        period, pos = divmod(t, self.period_len) if t >= 0 else (-1, 0)
        active = 0 <= period < self.periods
        if active and pos == 0:
            self._select(d, period)
        self.descend(d)
        factor = torch.ones(self.part.num_groups, dtype=torch.float64)
        if active:
            factor[self.redundant] = (self.period_len - pos - 1) / (self.period_len - pos)
        factor[self.pruned] = 0.0
        self.part.scale_(self.part.params, factor)
        if active and pos == self.period_len - 1:
            self.pruned |= self.redundant
            self.redundant.zero_()
        self.num_steps += 1
        return loss

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {**super().extra_state(), "pruned": self.pruned.clone(), "redundant": self.redundant.clone()}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        super().load_extra_state(state)
        self.pruned.copy_(state["pruned"])
        self.redundant.copy_(state["redundant"])
