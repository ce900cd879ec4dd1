"""Dynamic sparse training: MEST-style prune-and-grow masks, unstructured or N:M.

Every masked convolution keeps its own exact density for the whole run. At each mask
update a decaying fraction of its live weights is pruned (smallest magnitude) and the same
number of dead weights is grown (largest gradient magnitude, or at random as MEST does);
grown weights start at zero. Under N:M (e.g. 2:4) the pattern lives along the input-channel
dimension, as Ampere sparse tensor cores and TensorRT want it: every group of M consecutive
input channels of one (output channel, ky, kx) holds exactly N live weights, and
prune-and-grow swaps weights inside a group so the pattern is never broken.

Which weights are masked: every convolution except the first (``stem.conv``, dense as in
MEST/SpFDE) and the depthwise convolutions. Depthwise kernels have one input channel per
group, so N:M along the input channels does not exist for them; they hold ~3% of the
weights and ~5% of the MACs of the max subnet, so both patterns keep them dense (one rule
for both, so the patterns are comparable). The classifier is dense too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.space.search_space import NUM_BLOCKS, SearchSpace, se_channels
from ofa_edge.supernet.network import Supernet
from ofa_edge.train.optim import state_like
from ofa_edge.units import check_range


def parse_pattern(pattern: str) -> tuple[int, int] | None:
    """``"unstructured"`` -> None; ``"N:M"`` -> (N, M) with 0 < N < M."""
    if pattern == "unstructured":
        return None
    try:
        n, m = (int(v) for v in pattern.split(":"))
    except ValueError:
        raise UserError(
            f"sparsity pattern '{pattern}' is neither 'unstructured' nor N:M (e.g. '2:4'); pass one of those."
        ) from None
    if not 0 < n < m:
        raise UserError(f"sparsity pattern '{pattern}': N:M needs 0 < N < M (e.g. '2:4').")
    return n, m


def check_mask_updates(interval: int, update_fraction: float, grow: str) -> None:
    """Refuse out-of-range prune-and-grow options (``--mask-interval``, ``--mask-update-frac``, ``--mask-grow``)."""
    check_range("--mask-interval", interval, ge=1, hint="epoch")
    check_range("--mask-update-frac", update_fraction, ge=0, lt=1)
    if grow not in ("gradient", "random"):
        raise UserError(f"--mask-grow '{grow}': use 'gradient' or 'random'.")


@dataclass(frozen=True)
class SparsityConfig:
    """Target sparsity, mask pattern and the prune-and-grow schedule (in epochs).

    ``update_fraction`` is the share of each layer's live weights swapped at the first
    update; it decays with a cosine to 0 at ``update_end`` x epochs, after which masks
    are fixed (MEST's and RigL's schedule).
    """

    sparsity: float
    pattern: str = "unstructured"
    interval: int = 1
    update_fraction: float = 0.3
    update_end: float = 0.8
    grow: str = "gradient"

    def __post_init__(self) -> None:
        check_range(
            "--sparsity", self.sparsity, gt=0, lt=1, hint="(0.9 keeps 10% of the weights; leave it out to train dense)"
        )
        nm = parse_pattern(self.pattern)
        if nm is not None and not math.isclose(self.sparsity, 1 - nm[0] / nm[1]):
            raise UserError(
                f"--sparsity {self.sparsity} contradicts pattern {self.pattern}, whose sparsity is "
                f"{1 - nm[0] / nm[1]:g}; drop --sparsity or pass {1 - nm[0] / nm[1]:g}."
            )
        check_mask_updates(self.interval, self.update_fraction, self.grow)
        check_range("update_end", self.update_end, ge=0, le=1, hint="(a fraction of training)")

    @property
    def nm(self) -> tuple[int, int] | None:
        """(N, M) of an N:M pattern; ``None`` for unstructured."""
        return parse_pattern(self.pattern)

    def fraction_at(self, epoch: int, epochs: int) -> float:
        """Prune-and-grow fraction of an update at the end of ``epoch`` (0-based)."""
        end = self.update_end * epochs
        t = epoch + 1
        if t >= end or end <= 0:
            return 0.0
        return self.update_fraction * 0.5 * (1.0 + math.cos(math.pi * t / end))

    def updates_at(self, epoch: int) -> bool:
        """Whether the masks change at the end of ``epoch`` (every ``interval`` epochs)."""
        return (epoch + 1) % self.interval == 0


def masked_layers(space: SearchSpace) -> dict[str, set[int]]:
    """Masked weights of a supernet of ``space`` -> every input-channel width a subnet slices them to."""
    widths: dict[str, set[int]] = {"stem.proj.weight": {space.stem_width}}
    for b in range(NUM_BLOCKS):
        mids = {space.mid_channels(b, e) for e in space.expands}
        widths[f"blocks.{b}.expand.weight"] = {space.block_in_ch(b)}
        widths[f"blocks.{b}.proj.weight"] = mids
        if space.stages[space.stage_of(b)].se:
            widths[f"blocks.{b}.se.reduce.weight"] = mids
            widths[f"blocks.{b}.se.expand.weight"] = {se_channels(m) for m in mids}
    widths["head.expand.weight"] = {space.stages[-1].width}
    widths["head.mix.weight"] = {space.final_expand_width}
    return widths


def check_pattern(space: SearchSpace, config: SparsityConfig) -> dict[str, set[int]]:
    """The masked layers of ``space``; a UserError if N:M's M does not divide a width they take."""
    widths = masked_layers(space)
    nm = config.nm
    if nm is not None:
        bad = {k: sorted(w for w in v if w % nm[1]) for k, v in widths.items()}
        bad = {k: v for k, v in bad.items() if v}
        if bad:
            name, w = next(iter(bad.items()))
            raise UserError(
                f"sparsity pattern {config.pattern}: M={nm[1]} does not divide the input channels {w} of "
                f"'{name}' ({len(bad)} layers affected); use an M that divides every channel count (e.g. 2:4)."
            )
    return widths


def input_channel_groups(t: torch.Tensor, m: int) -> torch.Tensor:
    """View a conv weight (O, I, kh, kw) as groups of ``m`` consecutive input channels: (G, m)."""
    o, i, kh, kw = t.shape
    return t.permute(0, 2, 3, 1).reshape(o, kh, kw, i // m, m).reshape(-1, m)


def _ungroup(g: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    o, i, kh, kw = shape
    return g.reshape(o, kh, kw, i).permute(0, 3, 1, 2).contiguous()


class SparseMasks:
    """Boolean masks over a supernet's conv weights, with MEST-style prune-and-grow."""

    def __init__(self, net: Supernet, config: SparsityConfig, seed: int = 0) -> None:
        self.config = config
        self.generator = torch.Generator().manual_seed(seed)
        widths = check_pattern(net.space, config)
        params = dict(net.named_parameters())
        self.masks: dict[str, torch.Tensor] = {}
        self._factors: list[torch.Tensor] | None = None  # masks as the weights' dtype, for apply()
        for name in widths:
            w = params[name].detach()
            self.masks[name] = self._initial_mask(w.abs().float().cpu()).to(w.device)
        self.apply(net)

    # ----------------------------------------------------------------- masks
    def _keep(self, numel: int) -> int:
        return numel - round(self.config.sparsity * numel)

    def _initial_mask(self, score: torch.Tensor) -> torch.Tensor:
        """Largest-magnitude weights of the (random) initialisation, exact count / N:M."""
        nm = self.config.nm
        if nm is not None:
            g = input_channel_groups(score, nm[1])
            keep = torch.zeros_like(g, dtype=torch.bool)
            keep.scatter_(1, g.topk(nm[0], dim=1).indices, True)
            return _ungroup(keep, score.shape)
        flat = torch.zeros(score.numel(), dtype=torch.bool)
        flat[score.flatten().topk(self._keep(score.numel())).indices] = True
        return flat.view_as(score)

    @torch.no_grad()
    def apply(self, net: nn.Module) -> None:
        """Zero every masked weight of ``net`` in place (after each optimizer step): one fused multiply."""
        params = dict(net.named_parameters())
        weights = [params[name] for name in self.masks]
        if self._factors is None or self._factors[0].dtype != weights[0].dtype:
            self._factors = [m.to(w.dtype) for m, w in zip(self.masks.values(), weights, strict=True)]
        torch._foreach_mul_(weights, self._factors)

    def density(self) -> float:
        """Live share of the masked weights."""
        live = sum(int(m.sum()) for m in self.masks.values())
        return live / sum(m.numel() for m in self.masks.values())

    # ------------------------------------------------------- prune and grow
    @torch.no_grad()
    def update(self, net: Supernet, fraction: float, optimizer: torch.optim.Optimizer | None = None) -> int:
        """One prune-and-grow step with ``fraction`` of each layer's live weights; returns weights moved.

        Frozen weights (``requires_grad`` False) keep their masks. Grown weights are set to 0,
        and their optimizer state (momentum, Adam moments) is zeroed so they start fresh.
        """
        if fraction <= 0:
            return 0
        params = dict(net.named_parameters())
        moved = 0
        for name, mask in self.masks.items():
            p = params[name]
            if not p.requires_grad:
                continue
            if self.config.grow == "gradient" and p.grad is not None:
                grow_score = p.grad.detach().abs().float().cpu()
            else:
                grow_score = torch.rand(p.shape, generator=self.generator)
            new, n = self._swap(mask.cpu(), p.detach().abs().float().cpu(), grow_score, fraction)
            grown = (new & ~mask.cpu()).to(p.device)
            self.masks[name] = new.to(mask.device)
            self._factors = None
            p.masked_fill_(grown, 0.0)
            if optimizer is not None:
                for v in state_like(optimizer, p):
                    v.masked_fill_(grown, 0.0)
            moved += n
        self.apply(net)
        return moved

    def _swap(
        self, mask: torch.Tensor, magnitude: torch.Tensor, grow_score: torch.Tensor, fraction: float
    ) -> tuple[torch.Tensor, int]:
        nm = self.config.nm
        if nm is None:
            return self._swap_flat(mask.flatten(), magnitude.flatten(), grow_score.flatten(), fraction, mask.shape)
        return self._swap_nm(mask, magnitude, grow_score, fraction, nm)

    def _swap_flat(self, mask, magnitude, grow_score, fraction, shape) -> tuple[torch.Tensor, int]:
        live, dead = int(mask.sum()), int((~mask).sum())
        k = min(int(fraction * live), dead)
        if k == 0:
            return mask.view(shape), 0
        drop = torch.where(mask, magnitude, torch.inf).topk(k, largest=False).indices
        grow = torch.where(mask, -torch.inf, grow_score).topk(k).indices  # only weights dead before this update
        new = mask.clone()
        new[drop] = False
        new[grow] = True
        return new.view(shape), k

    def _swap_nm(self, mask, magnitude, grow_score, fraction, nm) -> tuple[torch.Tensor, int]:
        n, m = nm
        g_mask, g_mag, g_grow = (input_channel_groups(t, m) for t in (mask, magnitude, grow_score))
        k = min(
            g_mask.shape[0], int(fraction * n * g_mask.shape[0])
        )  # swaps: the fraction of live weights, one per group
        if k == 0:
            return mask, 0
        rows = torch.randperm(g_mask.shape[0], generator=self.generator)[:k]
        sub = g_mask[rows]
        drop = torch.where(sub, g_mag[rows], torch.inf).argmin(1)
        grow = torch.where(sub, -torch.inf, g_grow[rows]).argmax(1)
        sub[torch.arange(k), drop] = False
        sub[torch.arange(k), grow] = True
        g_mask = g_mask.clone()
        g_mask[rows] = sub
        return _ungroup(g_mask, mask.shape), k

    # ----------------------------------------------------------- state
    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Masks (bool tensors) and JSON metadata, for checkpoints."""
        tensors = {f"mask.{k}": v.cpu().contiguous() for k, v in self.masks.items()}
        tensors["rng"] = self.generator.get_state()
        return tensors, {"config": self.config.__dict__, "density": self.density()}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Restore masks and the RNG saved by :meth:`state` (same supernet, same config)."""
        if meta.get("config") != self.config.__dict__:
            raise UserError(
                f"the checkpoint's sparsity settings {meta.get('config')} differ from this run's "
                f"{self.config.__dict__}; resume with the same --sparsity options."
            )
        for k, v in self.masks.items():
            saved = tensors.get(f"mask.{k}")
            if saved is None or saved.shape != v.shape:
                raise UserError(f"the checkpoint's sparsity masks do not match this supernet (layer '{k}').")
            self.masks[k] = saved.to(device=v.device, dtype=torch.bool)
        self._factors = None
        self.generator.set_state(tensors["rng"])
