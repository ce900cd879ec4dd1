"""HSPG: Half-Space Stochastic Projected Gradient (OTO, Chen et al., NeurIPS 2021).

Minimises f(x) + lam * sum_g ||x_g|| over the ZIGs in two phases:

1. proximal SG for ``prox_steps`` steps: a plain step on f, then the group-lasso proximal
   map ``x_g <- max(0, 1 - lr*lam/||x_g||) x_g``;
2. half-space steps: for each non-zero group a step on f + lam*||x_g|| gives the trial
   point ``t_g``; the group is projected to zero exactly when ``t_g . x_g < eps ||x_g||^2``
   (it left the half-space around ``x_g``). Zero groups stay zero.

``max_sparsity`` optionally caps the fraction of zero groups in both phases: once it is reached
no more groups are zeroed (the proximal map zeroes the smallest groups first, the half-space step
the least-aligned ones; a group beyond the cap is left as it is for that step).
"""

from __future__ import annotations

import torch

from ofa_edge.prune.base import GroupSparseOptimizer
from ofa_edge.prune.zig import ZIGPartition
from ofa_edge.units import check_range


def half_space_mask(dot: torch.Tensor, sq_norm: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Groups whose trial point left the half-space: ``[t]_g . [x]_g < eps * ||[x]_g||^2``."""
    return dot < epsilon * sq_norm


class HSPG(GroupSparseOptimizer):
    """HSPG over the groups of ``part``; every other parameter takes plain momentum SGD."""

    def __init__(
        self,
        part: ZIGPartition,
        lr: float,
        lam: float,
        prox_steps: int,
        epsilon: float = 0.0,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        max_sparsity: float | None = None,
    ) -> None:
        check_range("lam", lam, ge=0)
        check_range("prox_steps", prox_steps, ge=0)
        check_range("epsilon", epsilon, ge=0, lt=1)
        check_range("max_sparsity", max_sparsity, ge=0, le=1)
        super().__init__(part, lr, momentum, weight_decay)
        self.lam, self.epsilon, self.prox_steps = lam, epsilon, prox_steps
        self.max_zero = None if max_sparsity is None else int(max_sparsity * part.num_groups)

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        d = self.directions()
        params = self.part.params
        if self.num_steps < self.prox_steps:
            self.descend(d)
            norms = self.part.sq_norms(params).sqrt()
            factor = (1 - self.lr * self.lam / norms.clamp_min(1e-30)).clamp_min(0)
            zeroing = (factor == 0) & (norms > 0)
            allowed = self._cap(zeroing, norms, int((norms == 0).sum()))  # the smallest groups go first
            factor = torch.where(zeroing & ~allowed, torch.ones_like(factor), factor)  # beyond the cap: kept
        else:
            x = {n: params[n].detach().clone() for n in self.part.grouped_names}
            sq = self.part.sq_norms(x)
            nonzero = sq > 0
            self.descend(d)  # params now hold the trial point of f
            coeff = torch.where(nonzero, -self.lr * self.lam / sq.sqrt().clamp_min(1e-30), 0.0)
            self.part.axpy_(params, x, coeff)  # + the group-lasso gradient lam * x_g / ||x_g||
            dot = self.part.dot(params, x)
            project = half_space_mask(dot, sq, self.epsilon) & nonzero
            project = self._cap(project, dot / sq.clamp_min(1e-30), int((~nonzero).sum()))
            factor = (~(project | ~nonzero)).to(torch.float64)
        self.part.scale_(params, factor)
        self.num_steps += 1
        return loss

    def _cap(self, project: torch.Tensor, ratio: torch.Tensor, zeros: int) -> torch.Tensor:
        if self.max_zero is None:
            return project
        allowed = max(self.max_zero - zeros, 0)
        if int(project.sum()) <= allowed:
            return project
        keep = torch.where(project, ratio, float("inf"))
        capped = torch.zeros_like(project)
        capped[torch.topk(-keep, allowed).indices] = True
        return capped & project
