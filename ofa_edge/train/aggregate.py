"""Gradient aggregation across the subnets of one step.

``sum``: each subnet's loss is scaled by its weight and backward passes accumulate into the
shared gradients (DεpS's and OFA's default). ``avg``: additionally, every weight element's
summed gradient is divided by the summed weights of the subnets that used that element, so a
channel shared by all subnets is not updated more strongly than one only the max net uses.
Which elements a subnet uses follows from its config (prefix channel slices, the centre of
the depthwise kernel), so no per-subnet gradient copies are kept.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.search_space import se_channels
from ofa_edge.supernet import Supernet

ALL = (slice(None),)


def _block_region(name: str, mid: int, se_ch: int, kernel: int, k_max: int, crop: int) -> tuple[slice, ...] | None:
    """The slice of a block parameter a subnet touches (``None``: untouched)."""
    if name.startswith("proj_bn."):
        return ALL
    if name == "proj.weight":
        return (slice(None), slice(0, mid))
    if name == "dw.weight":
        s = (k_max - crop) // 2
        return (slice(0, mid), slice(None), slice(s, s + crop), slice(s, s + crop))
    if name.startswith("kernel_matrices.to"):
        return ALL if kernel <= int(name.removeprefix("kernel_matrices.to")) < k_max else None
    if name == "se.reduce.weight":
        return (slice(0, se_ch), slice(0, mid))
    if name == "se.reduce.bias":
        return (slice(0, se_ch),)
    if name == "se.expand.weight":
        return (slice(0, mid), slice(0, se_ch))
    return (slice(0, mid),)  # expand.weight, expand_bn.*, dw_bn.*, se.expand.bias


def used_regions(net: Supernet, cfg: SubnetConfig) -> Iterator[tuple[nn.Parameter, tuple[slice, ...]]]:
    """(parameter, region) for every parameter element the subnet ``cfg`` computes with."""
    for module in (net.stem, net.head):
        for p in module.parameters():
            yield p, ALL
    for b in cfg.active_blocks():
        blk = net.blocks[b]
        mid = net.space.mid_channels(b, cfg.expand[b])
        k, k_max = cfg.kernel[b], max(blk.kernels)
        # With the kernel transform a small kernel is cut from the next larger one, down the chain.
        crop = k if (k == k_max or not blk.kernel_transform) else max(x for x in blk.kernels if x < k_max)
        for name, p in blk.named_parameters():
            region = _block_region(name, mid, se_channels(mid), k, k_max, crop)
            if region is not None:
                yield p, region


class GradAverager:
    """Accumulates per-element subnet weights over a step, then divides the gradients by them."""

    def __init__(self) -> None:
        self._weights: dict[nn.Parameter, torch.Tensor] = {}

    def reset(self) -> None:
        """Start a step: no subnet counted yet."""
        for w in self._weights.values():
            w.zero_()

    def add(self, net: Supernet, cfg: SubnetConfig, weight: float) -> None:
        """Count ``cfg``'s loss weight on every weight element it used."""
        for p, region in used_regions(net, cfg):
            w = self._weights.get(p)
            if w is None:
                w = self._weights[p] = torch.zeros_like(p, dtype=torch.float32)
            w[region] += weight

    @torch.no_grad()
    def apply(self) -> None:
        """Divide each gradient element by the weights of the subnets that used it."""
        for p, w in self._weights.items():
            if p.grad is not None:
                p.grad.div_(torch.where(w > 0, w, torch.ones_like(w)).to(p.grad.dtype))
