"""Which layers of a network hold 2:4 structured-sparse weights (SpFDE's ``--sparsity-pattern 2:4``).

Ampere-class GPUs (Jetson Orin, A100, H100) run such layers on sparse tensor cores, but
TensorRT only looks for the pattern when the build asks it to (``BuilderFlag.SPARSE_WEIGHTS``,
``trtexec --sparsity=enable``). The pattern TensorRT accepts is SpFDE's N:M layout: in every
group of 4 consecutive input channels at one (output channel, ky, kx), at most 2 weights are
non-zero. Depthwise convolutions have no input-channel groups and never qualify.
"""

from __future__ import annotations

import torch
from torch import nn

from ofa_edge.train.spfde.sparsity import input_channel_groups

N, M = 2, 4


def two_four_layers(model: nn.Module) -> list[str]:
    """Names of the convolution and linear layers whose weights follow the 2:4 pattern (and are not all zero)."""
    return [
        name
        for name, module in model.named_modules()
        if (isinstance(module, nn.Conv2d) and module.groups == 1 or isinstance(module, nn.Linear))
        and _is_two_four(module.weight.detach())
    ]


def _is_two_four(w: torch.Tensor) -> bool:
    if w.shape[1] % M or not w.any():
        return False
    w4 = w if w.dim() == 4 else w[:, :, None, None]  # a linear layer is a 1x1 convolution
    return bool(((input_channel_groups(w4, M) != 0).sum(1) <= N).all())
