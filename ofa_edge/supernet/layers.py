"""Plain (static) layers of an OFA MobileNetV3 network.

These are what an extracted subnet, ONNX export and latency measurement see: ordinary
``nn.Conv2d`` / ``nn.BatchNorm2d`` modules, nothing elastic.
"""

from __future__ import annotations

import torch
from torch import nn

from ofa_edge.space.search_space import BlockShape


def activation(name: str) -> nn.Module:
    """The activation a stage names: ``hswish`` or ReLU."""
    return nn.Hardswish() if name == "hswish" else nn.ReLU()


class SqueezeExcite(nn.Module):
    """OFA's SE: global pool, 1x1 reduce (bias) + ReLU, 1x1 expand (bias) + hard sigmoid."""

    def __init__(self, channels: int, se_channels: int, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, se_channels, 1, bias=True, device=device)
        self.expand = nn.Conv2d(se_channels, channels, 1, bias=True, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = torch.relu(self.reduce(s))
        return x * nn.functional.hardsigmoid(self.expand(s))


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, kxk depthwise, optional SE, 1x1 project, identity skip."""

    def __init__(self, shape: BlockShape, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.shape = shape
        mid, k = shape.mid_ch, shape.kernel
        self.expand = nn.Conv2d(shape.in_ch, mid, 1, bias=False, device=device)
        self.expand_bn = nn.BatchNorm2d(mid, device=device)
        self.dw = nn.Conv2d(mid, mid, k, shape.stride, k // 2, groups=mid, bias=False, device=device)
        self.dw_bn = nn.BatchNorm2d(mid, device=device)
        self.se = SqueezeExcite(mid, shape.se_ch, device) if shape.se else None
        self.proj = nn.Conv2d(mid, shape.out_ch, 1, bias=False, device=device)
        self.proj_bn = nn.BatchNorm2d(shape.out_ch, device=device)
        self.act = activation(shape.act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.expand_bn(self.expand(x)))
        y = self.act(self.dw_bn(self.dw(y)))
        if self.se is not None:
            y = self.se(y)
        y = self.proj_bn(self.proj(y))
        return x + y if self.shape.residual else y


class Stem(nn.Module):
    """3x3 conv + BN + hswish, then OFA's fixed first block (depthwise 3x3, project, skip)."""

    def __init__(self, width: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.dw = nn.Conv2d(width, width, 3, 1, 1, groups=width, bias=False)
        self.dw_bn = nn.BatchNorm2d(width)
        self.proj = nn.Conv2d(width, width, 1, bias=False)
        self.proj_bn = nn.BatchNorm2d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.hardswish(self.bn(self.conv(x)))
        y = torch.relu(self.dw_bn(self.dw(x)))
        return x + self.proj_bn(self.proj(y))


class Head(nn.Module):
    """1x1 final expand + BN + hswish, global pool, 1x1 feature mix + hswish, dropout, linear."""

    def __init__(self, in_ch: int, expand_ch: int, last_ch: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.expand = nn.Conv2d(in_ch, expand_ch, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(expand_ch)
        self.mix = nn.Conv2d(expand_ch, last_ch, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(last_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.hardswish(self.expand_bn(self.expand(x)))
        x = x.mean((2, 3), keepdim=True)
        x = nn.functional.hardswish(self.mix(x))
        return self.classifier(self.dropout(torch.flatten(x, 1)))


class SubnetModel(nn.Module):
    """A standalone network extracted from a supernet (stem, active blocks, head)."""

    def __init__(self, stem: Stem, blocks: list[MBConv], head: Head) -> None:
        super().__init__()
        self.stem = stem
        self.blocks = nn.Sequential(*blocks)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:  # no cost unless it raises: then a wrong input is named (check_input) instead of torch's error
            return self.head(self.blocks(self.stem(x)))
        except (RuntimeError, ValueError, TypeError):
            check_input(x, None, self.stem.conv.weight)
            raise


def check_input(x: object, resolution: int | None, weight: torch.Tensor) -> None:
    """After a failed forward: a :class:`UserError` naming what is wrong with the input ``x``
    (type, rank, channels, dtype, device, size), if anything; else return and let the caller re-raise.

    ``resolution`` is the subnet's (None: unknown); ``weight`` the stem's first convolution's."""
    want = f"a float tensor (N, 3, {resolution or 'R'}, {resolution or 'R'})"
    problem = None
    if not isinstance(x, torch.Tensor):
        problem = f"the input is a {type(x).__name__}, not a torch.Tensor"
    elif x.dim() != 4:
        problem = (
            f"the input has shape {tuple(x.shape)} ({x.dim()} dimensions, not 4); add the batch dimension with x[None]"
        )
    elif x.shape[1] != 3:
        problem = f"the input has {x.shape[1]} channels (shape {tuple(x.shape)}); the network takes RGB images"
    elif not x.is_floating_point() or (x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type)):
        problem = f"the input is {x.dtype} but the weights are {weight.dtype}; normalise it and convert with x.to({weight.dtype})"
    elif x.device != weight.device:
        problem = (
            f"the input is on {x.device} but the weights are on {weight.device}; move it with x.to('{weight.device}')"
        )
    elif resolution is not None and tuple(x.shape[2:]) != (resolution, resolution):
        problem = (
            f"the input is {x.shape[2]}x{x.shape[3]} px but the active subnet runs at {resolution} px; "
            "resize it to the subnet's resolution"
        )
    if problem is not None:
        from ofa_edge.errors import UserError

        raise UserError(f"{problem}. Expected {want}.")


__all__ = ["Head", "MBConv", "SqueezeExcite", "Stem", "SubnetModel", "activation"]
