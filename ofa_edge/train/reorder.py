"""Channel re-ordering by importance, so that prefix slices keep the most important channels.

For each block, mid channels are sorted by the L1 norm of the projection weights that read
them (descending), and expand / depthwise / BN / SE tensors are permuted consistently; the SE
hidden channels are sorted likewise by the L1 norm of the SE expand weights. The max net
computes the same function afterwards. Optimizer state tensors shaped like a parameter (e.g.
momentum) are permuted with it.
"""

from __future__ import annotations

import torch
from torch import nn

from ofa_edge.supernet import Supernet
from ofa_edge.supernet.dynamic_mbconv import DynamicMBConv
from ofa_edge.train.optim import state_like


def _permute(t: torch.Tensor, dim: int, perm: torch.Tensor, optimizer: torch.optim.Optimizer | None) -> None:
    t.data.copy_(t.data.index_select(dim, perm))
    if optimizer is not None and isinstance(t, nn.Parameter):
        for v in state_like(optimizer, t):
            v.copy_(v.index_select(dim, perm))


def _permute_bn(bn: nn.BatchNorm2d, perm: torch.Tensor, optimizer: torch.optim.Optimizer | None) -> None:
    for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
        _permute(t, 0, perm, optimizer)


@torch.no_grad()
def reorder_block(blk: DynamicMBConv, optimizer: torch.optim.Optimizer | None = None) -> None:
    """Sort one block's mid (and SE hidden) channels by importance, in place."""
    perm = torch.argsort(blk.proj.weight.abs().sum((0, 2, 3)), descending=True)
    _permute(blk.expand.weight, 0, perm, optimizer)
    _permute_bn(blk.expand_bn, perm, optimizer)
    _permute(blk.dw.weight, 0, perm, optimizer)
    _permute_bn(blk.dw_bn, perm, optimizer)
    _permute(blk.proj.weight, 1, perm, optimizer)
    if blk.se is not None:
        _permute(blk.se.reduce.weight, 1, perm, optimizer)
        _permute(blk.se.expand.weight, 0, perm, optimizer)
        _permute(blk.se.expand.bias, 0, perm, optimizer)
        se_perm = torch.argsort(blk.se.expand.weight.abs().sum((0, 2, 3)), descending=True)
        _permute(blk.se.reduce.weight, 0, se_perm, optimizer)
        _permute(blk.se.reduce.bias, 0, se_perm, optimizer)
        _permute(blk.se.expand.weight, 1, se_perm, optimizer)


def reorder_channels(net: Supernet, optimizer: torch.optim.Optimizer | None = None) -> None:
    """Sort every block's channels by importance (see the module docstring)."""
    for blk in net.blocks:
        reorder_block(blk, optimizer)
