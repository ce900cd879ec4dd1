"""The weight-shared OFA MobileNetV3 supernet."""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.search_space import NUM_BLOCKS, SearchSpace
from ofa_edge.supernet.dynamic_mbconv import DynamicMBConv
from ofa_edge.supernet.layers import Head, Stem, SubnetModel, check_input


class Supernet(nn.Module):
    """Once-for-all supernet over a :class:`SearchSpace`.

    ``set_active(cfg)`` selects a subnet; ``forward`` runs it with the shared weights;
    ``extract(cfg)`` returns a standalone :class:`SubnetModel` that computes the same
    function in eval mode.
    """

    def __init__(
        self,
        space: SearchSpace | str,
        num_classes: int = 10,
        *,
        kernel_transform: bool = False,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if not isinstance(space, SearchSpace | str):
            raise UserError(
                f"Supernet: space must be a SearchSpace or a space name, got {type(space).__name__}; "
                f"e.g. Supernet(SearchSpace.get('mbv3-w1.0-cifar'), num_classes=10). Known: {', '.join(SearchSpace.names())}."
            )
        if isinstance(num_classes, bool) or not isinstance(num_classes, Integral) or num_classes < 1:
            raise UserError(f"Supernet: num_classes must be a positive integer, got {num_classes!r}.")
        if isinstance(dropout, bool) or not isinstance(dropout, Real) or not 0 <= dropout < 1:
            raise UserError(f"Supernet: dropout must be a probability in [0, 1), got {dropout!r}.")
        if not isinstance(kernel_transform, bool | np.bool_):
            raise UserError(f"Supernet: kernel_transform must be True or False, got {kernel_transform!r}.")
        self.space = SearchSpace.get(space)
        self.num_classes = int(num_classes)
        self.kernel_transform = bool(kernel_transform)
        self.dropout = float(dropout)
        sp = self.space
        self.stem = Stem(sp.stem_width, sp.stem_stride)
        r_max, k_max, e_max = max(sp.resolutions), max(sp.kernels), max(sp.expands)
        self.blocks = nn.ModuleList(
            DynamicMBConv(sp.block_shape(r_max, b, k_max, e_max), sp.kernels, kernel_transform)
            for b in range(NUM_BLOCKS)
        )
        self.head = Head(sp.stages[-1].width, sp.final_expand_width, sp.last_width, num_classes, dropout)
        self._init_weights()
        self.set_active(sp.max())

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)
        # Zero-init the last BN of residual blocks, as OFA does: a residual block starts as identity.
        for blk in self.blocks:
            if blk.shape.residual:
                nn.init.zeros_(blk.proj_bn.weight)

    # ------------------------------------------------------------- selection
    def set_active(self, cfg: SubnetConfig) -> None:
        """Make ``cfg`` the subnet that ``forward`` runs."""
        self.space.require_config(cfg, "set_active", "search or load a subnet of the supernet's space")
        for b, blk in enumerate(self.blocks):
            blk.set_active(cfg.kernel[b], self.space.mid_channels(b, cfg.expand[b]))
        self.active: SubnetConfig = cfg
        self.active_blocks: list[int] = cfg.active_blocks()  # indices of the blocks ``forward`` runs

    def set_max(self) -> None:
        """Make the space's largest subnet the active one."""
        self.set_active(self.space.max())

    def set_min(self) -> None:
        """Make the space's smallest subnet the active one."""
        self.set_active(self.space.min())

    # --------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the active subnet for ``x``. The network is fully convolutional and takes any image
        size, as once-for-all's does (benchmarks run ImageNet's layout at 32 px); the subnet's latency and
        MACs are priced at its ``resolution``, so resize to that size to run what was priced."""
        try:  # no cost unless it raises: then a wrong input is named (check_input) instead of torch's error
            h = self.stem(x)
            for b in self.active_blocks:
                h = self.blocks[b](h)
            return self.head(h)
        except (RuntimeError, ValueError, TypeError):
            check_input(x, self.active.resolution, self.stem.conv.weight)
            raise

    # ------------------------------------------------------------ extraction
    def extract(self, cfg: SubnetConfig | None = None) -> SubnetModel:
        """A standalone network of ``cfg`` (default: the active subnet) with copied weights, in the
        supernet's dtype, mode and ``requires_grad`` flags."""
        cfg = self.active if cfg is None else cfg
        self.space.require_config(cfg, "extract", "search or load a subnet of the supernet's space")
        blocks = []
        for b in cfg.active_blocks():
            block = self.blocks[b].export(self.space.block_shape(cfg.resolution, b, cfg.kernel[b], cfg.expand[b]))
            frozen = {name for name, p in self.blocks[b].named_parameters() if not p.requires_grad}
            for name, p in block.named_parameters():
                p.requires_grad_(name not in frozen)
            blocks.append(block)
        net = SubnetModel(copy.deepcopy(self.stem), blocks, copy.deepcopy(self.head))
        return net.to(self.stem.conv.weight.dtype).train(self.training)
