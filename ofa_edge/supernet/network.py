"""The weight-shared OFA MobileNetV3 supernet."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.search_space import NUM_BLOCKS, SearchSpace
from ofa_edge.supernet.dynamic_mbconv import DynamicMBConv
from ofa_edge.supernet.layers import Head, Stem, SubnetModel


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
        self.space = SearchSpace.get(space) if isinstance(space, str) else space
        self.num_classes = num_classes
        self.kernel_transform = kernel_transform
        self.dropout = dropout
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
        if cfg.space != self.space.name:
            raise UserError(
                f"subnet is for space '{cfg.space}' but this supernet is '{self.space.name}'; "
                "search or load a subnet of the supernet's space."
            )
        for b, blk in enumerate(self.blocks):
            blk.set_active(cfg.kernel[b], self.space.mid_channels(b, cfg.expand[b]))
        self.active: SubnetConfig = cfg
        self.active_blocks: list[int] = cfg.active_blocks()  # indices of the blocks ``forward`` runs

    def set_max(self) -> None:
        self.set_active(self.space.max())

    def set_min(self) -> None:
        self.set_active(self.space.min())

    def sample_active(self, rng: np.random.Generator) -> SubnetConfig:
        cfg = self.space.sample(rng)
        self.set_active(cfg)
        return cfg

    # --------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for b in self.active_blocks:
            x = self.blocks[b](x)
        return self.head(x)

    # ------------------------------------------------------------ extraction
    def extract(self, cfg: SubnetConfig | None = None) -> SubnetModel:
        """A standalone network of ``cfg`` (default: the active subnet) with copied weights."""
        cfg = cfg or self.active
        if cfg.space != self.space.name:
            self.set_active(cfg)  # raises the space-mismatch error
        blocks = [
            self.blocks[b].export(self.space.block_shape(cfg.resolution, b, cfg.kernel[b], cfg.expand[b]))
            for b in cfg.active_blocks()
        ]
        net = SubnetModel(copy.deepcopy(self.stem), blocks, copy.deepcopy(self.head))
        return net.train(self.training)
