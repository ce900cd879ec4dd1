"""Zero-invariant groups (ZIGs): one group per channel of every prunable channel space.

A group's variables are the *primary* slices of its channel (producing conv/linear rows and
biases, BN affine entries, depthwise filters, and reading columns where the channel is not
exactly zero once pruned). When they are all zero the channel contributes nothing, so the
channel -- with every slice indexed by it -- can be removed without changing the output.

All group reductions are vectorised per slice: a parameter is viewed as (channels, rest).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ofa_edge.prune.graph import AxisSlice, ChannelSpace, trace_channel_spaces

Values = Mapping[str, torch.Tensor]


def _rows(t: torch.Tensor, sl: AxisSlice, size: int) -> torch.Tensor:
    """``t`` as (channels, entries of that channel): a view whenever torch can give one."""
    return t.movedim(sl.dim, 0).reshape(size, -1)


def _expand(index: torch.Tensor, repeat: int) -> torch.Tensor:
    """Channel indices -> entry indices along an axis with ``repeat`` entries per channel."""
    if repeat == 1:
        return index
    return (index[:, None] * repeat + torch.arange(repeat)).reshape(-1)


@dataclass(frozen=True)
class Space:
    """A prunable channel space and where its groups start in the flat group index."""

    offset: int
    size: int
    slices: tuple[AxisSlice, ...]
    tensors: tuple[str, ...]

    @property
    def primary(self) -> tuple[AxisSlice, ...]:
        return tuple(s for s in self.slices if s.primary and not s.buffer)


class ZIGPartition:
    """The ZIG partition of ``model``'s parameters (see :func:`partition`)."""

    def __init__(self, model: nn.Module, spaces: list[ChannelSpace]) -> None:
        self.model = model
        self.params: dict[str, nn.Parameter] = dict(model.named_parameters())
        self.spaces: list[Space] = []
        self.fixed: list[ChannelSpace] = []
        offset = 0
        for cs in spaces:
            has_vars = any(s.primary and not s.buffer for s in cs.slices)
            if cs.fixed is not None or not has_vars:
                self.fixed.append(cs)
                continue
            self.spaces.append(Space(offset, cs.size, tuple(cs.slices), tuple(cs.tensors)))
            offset += cs.size
        self.num_groups = offset
        self.grouped_names = sorted({s.name for sp in self.spaces for s in sp.primary})

    # ------------------------------------------------------ group reductions
    def _reduce(self, fn: Callable[[AxisSlice, int], torch.Tensor]) -> torch.Tensor:
        out = torch.zeros(self.num_groups, dtype=torch.float64)
        for sp in self.spaces:
            acc = out[sp.offset : sp.offset + sp.size]
            for sl in sp.primary:
                acc += fn(sl, sp.size).to(torch.float64)
        return out

    def sq_norms(self, values: Values) -> torch.Tensor:
        """Per-group squared l2 norm of ``values`` (tensors shaped like the parameters)."""
        return self._reduce(lambda sl, n: _rows(values[sl.name], sl, n).detach().pow(2).sum(1))

    def dot(self, a: Values, b: Values) -> torch.Tensor:
        """Per-group inner product of two parameter-shaped tensor sets."""
        return self._reduce(lambda sl, n: (_rows(a[sl.name], sl, n) * _rows(b[sl.name], sl, n)).detach().sum(1))

    def numel(self) -> torch.Tensor:
        """Number of variables in each group."""
        return self._reduce(lambda sl, n: torch.full((n,), self.params[sl.name].numel() // n))

    # ------------------------------------------------------ in-place updates
    def _per_entry(self, factor: torch.Tensor, sp: Space, sl: AxisSlice, t: torch.Tensor) -> torch.Tensor:
        f = factor[sp.offset : sp.offset + sp.size].to(t.dtype).repeat_interleave(sl.repeat)
        shape = [1] * t.dim()
        shape[sl.dim] = -1
        return f.view(shape)

    @torch.no_grad()
    def scale_(self, values: Values, factor: torch.Tensor) -> None:
        """Multiply every group's variables in ``values`` by ``factor[group]`` in place."""
        for sp in self.spaces:
            for sl in sp.primary:
                t = values[sl.name]
                t.mul_(self._per_entry(factor, sp, sl, t))

    @torch.no_grad()
    def axpy_(self, dst: Values, src: Values, coeff: torch.Tensor) -> None:
        """``dst[g] += coeff[g] * src[g]`` for every group, in place."""
        for sp in self.spaces:
            for sl in sp.primary:
                t = dst[sl.name]
                t.add_(src[sl.name] * self._per_entry(coeff, sp, sl, t))

    def zero_(self, groups: torch.Tensor) -> None:
        """Set the variables of the groups in the bool mask ``groups`` to zero."""
        self.scale_(self.params, (~groups).to(torch.float64))

    # --------------------------------------------------------------- queries
    def zero_mask(self) -> torch.Tensor:
        """Bool mask of groups whose variables are all exactly zero."""
        return self.sq_norms(self.params) == 0

    def group_sparsity(self) -> float:
        return int(self.zero_mask().sum()) / self.num_groups if self.num_groups else 0.0

    def space_of(self) -> torch.Tensor:
        """Index of the space each group belongs to."""
        return torch.repeat_interleave(torch.arange(len(self.spaces)), torch.tensor([s.size for s in self.spaces]))

    def keep_indices(self, zero: torch.Tensor) -> list[torch.Tensor]:
        """Channels kept per space: the non-zero ones (at least one, so no layer vanishes)."""
        keep = []
        for sp in self.spaces:
            idx = torch.nonzero(~zero[sp.offset : sp.offset + sp.size]).flatten()
            keep.append(idx if len(idx) else torch.zeros(1, dtype=torch.long))
        return keep

    def aligned(self, zero: torch.Tensor, multiple: int) -> torch.Tensor:
        """``zero`` with just enough exactly-zero groups kept back that every space keeps a
        multiple of ``multiple`` channels (or all of them). Keeping a zero group leaves the
        function unchanged; runtimes' kernels often need aligned channel counts to be fast."""
        if multiple <= 1:
            return zero
        out, exact = zero.clone(), self.zero_mask()
        for sp in self.spaces:
            z = out[sp.offset : sp.offset + sp.size]
            kept = sp.size - int(z.sum())
            short = min(-kept % multiple, sp.size - kept)
            spare = torch.nonzero(z & exact[sp.offset : sp.offset + sp.size]).flatten()
            if short and len(spare) >= short:
                z[spare[:short]] = False
        return out

    def axis_indices(self, zero: torch.Tensor) -> dict[str, dict[int, torch.Tensor]]:
        """For each sliced parameter/buffer: kept entry indices per pruned axis."""
        out: dict[str, dict[int, torch.Tensor]] = {}
        for sp, keep in zip(self.spaces, self.keep_indices(zero), strict=True):
            for sl in sp.slices:
                out.setdefault(sl.name, {})[sl.dim] = _expand(keep, sl.repeat)
        return out

    def kept_param_count(self, zero: torch.Tensor) -> int:
        """Parameters that survive removing the groups in ``zero``: an entry survives when
        every channel indexing it is kept (entries of no group always survive)."""
        axes = self.axis_indices(zero)
        total = 0
        for name, p in self.params.items():
            count = 1
            for d, n in enumerate(p.shape):
                count *= len(axes[name][d]) if name in axes and d in axes[name] else n
            total += count
        return total


def partition(model: nn.Module, example: torch.Tensor) -> ZIGPartition:
    """Derive the ZIG partition of ``model`` from its traced graph on ``example`` (a 4-D float image batch)."""
    return ZIGPartition(model, trace_channel_spaces(model, example))
