"""The elastic MBConv block: one max-size MBConv whose weights are sliced per subnet.

Every elastic choice is a prefix slice of a max-size tensor (channels ``[:mid]``) except
the depthwise kernel, which is centre-cropped from 7x7 and, optionally, passed through
OFA's learned kernel-transform matrices (7->5, 5->3). Extraction copies exactly those
slices into a plain :class:`~ofa_edge.supernet.layers.MBConv`, so the two compute the same
function.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ofa_edge.space.search_space import BlockShape, se_channels
from ofa_edge.supernet.layers import MBConv


def _prefix(t: torch.Tensor, n: int, dim: int = 0) -> torch.Tensor:
    """The first ``n`` entries of ``t`` along ``dim``; ``t`` itself when that is all of it.

    A slice costs two kernels in the backward pass (a zero-filled full-size gradient and a copy);
    the max net and every block at full width skip them.
    """
    return t if t.shape[dim] == n else t.narrow(dim, 0, n)


def _bn(x: torch.Tensor, bn: nn.BatchNorm2d, c: int) -> torch.Tensor:
    """Batch norm over the first ``c`` channels (sliced affine and running statistics)."""
    if c == bn.num_features:
        return bn(x)
    factor = 0.0
    if bn.training and bn.track_running_stats:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    use_batch_stats = bn.training or not bn.track_running_stats
    return F.batch_norm(
        x, bn.running_mean[:c], bn.running_var[:c], bn.weight[:c], bn.bias[:c], use_batch_stats, factor, bn.eps
    )


class DynamicMBConv(MBConv):
    """An :class:`MBConv` at max width and kernel that can run any smaller (kernel, expand)."""

    def __init__(self, max_shape: BlockShape, kernels: tuple[int, ...], kernel_transform: bool) -> None:
        super().__init__(max_shape)
        self.kernels = tuple(sorted(kernels))
        self.kernel_transform = kernel_transform
        # OFA's transform matrices, one per smaller kernel: (k*k, k*k), initialised to identity.
        self.kernel_matrices = nn.ParameterDict()
        if kernel_transform:
            for k in self.kernels[:-1]:
                self.kernel_matrices[f"to{k}"] = nn.Parameter(torch.eye(k * k))
        self.active_kernel = max_shape.kernel
        self.active_mid = max_shape.mid_ch

    def set_active(self, kernel: int, mid: int) -> None:
        self.active_kernel, self.active_mid = kernel, mid

    def active_dw_weight(self, kernel: int, mid: int) -> torch.Tensor:
        """Depthwise weight for ``kernel``: centre crop, then the transform chain if enabled."""
        w = _prefix(self.dw.weight, mid)
        k_max = w.shape[-1]
        if kernel == k_max:
            return w
        if not self.kernel_transform:
            start = (k_max - kernel) // 2
            return w[:, :, start : start + kernel, start : start + kernel]
        for k in reversed(self.kernels[:-1]):
            if k < kernel:
                break
            cur = w.shape[-1]
            start = (cur - k) // 2
            w = w[:, :, start : start + k, start : start + k]
            w = (w.reshape(mid, k * k) @ self.kernel_matrices[f"to{k}"]).reshape(mid, 1, k, k)
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mid, k = self.active_mid, self.active_kernel
        shape = self.shape
        y = F.conv2d(x, _prefix(self.expand.weight, mid))
        y = self.act(_bn(y, self.expand_bn, mid))
        y = F.conv2d(y, self.active_dw_weight(k, mid), None, shape.stride, k // 2, 1, mid)
        y = self.act(_bn(y, self.dw_bn, mid))
        if self.se is not None:
            se_ch = se_channels(mid)
            s = y.mean((2, 3), keepdim=True)
            se = self.se
            s = F.conv2d(s, _prefix(_prefix(se.reduce.weight, se_ch), mid, 1), _prefix(se.reduce.bias, se_ch))
            s = F.conv2d(torch.relu(s), _prefix(_prefix(se.expand.weight, mid), se_ch, 1), _prefix(se.expand.bias, mid))
            y = y * F.hardsigmoid(s)
        y = self.proj_bn(F.conv2d(y, _prefix(self.proj.weight, mid, 1)))
        return x + y if shape.residual else y

    @torch.no_grad()
    def export(self, shape: BlockShape) -> MBConv:
        """A plain :class:`MBConv` of ``shape`` holding this block's sliced weights (same device)."""
        block = MBConv(shape, device=self.expand.weight.device)
        src = dict(self.named_parameters()) | dict(self.named_buffers())
        for name, t in list(block.named_parameters()) + list(block.named_buffers()):
            if name == "dw.weight":
                t.copy_(self.active_dw_weight(shape.kernel, shape.mid_ch))
            elif t.dim() == 0:
                t.copy_(src[name])
            else:
                t.copy_(src[name][tuple(slice(0, n) for n in t.shape)])
        return block.train(self.training)
