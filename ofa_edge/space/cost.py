"""Analytic MACs and parameter counts, vectorized over batches of configs."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.genome import BlockSum, to_genomes
from ofa_edge.space.search_space import NUM_BLOCKS, SearchSpace


class CostModel:
    """MACs and parameters of any subnet of ``space`` with ``num_classes`` outputs.

    Per-block costs are tabulated once; a batch of genomes is then one gather and a sum.
    """

    def __init__(self, space: SearchSpace | str, num_classes: int) -> None:
        if not isinstance(space, SearchSpace | str):
            raise UserError(
                f"CostModel: space must be a SearchSpace or a space name, got {type(space).__name__}; "
                "e.g. CostModel('mbv3-w1.0-cifar', num_classes=10)."
            )
        if isinstance(num_classes, bool) or not isinstance(num_classes, Integral) or num_classes < 1:
            raise UserError(f"CostModel: num_classes must be an integer >= 1, got {num_classes!r}.")
        self.space = space = SearchSpace.get(space)
        self.num_classes = int(num_classes)
        shape = (len(space.resolutions), NUM_BLOCKS, len(space.kernels), len(space.expands))
        self._block_macs = np.zeros(shape)
        self._block_params = np.zeros(shape)
        self._fixed_macs = np.zeros(shape[0])
        self._fixed_params = np.zeros(shape[0])
        for ri, r in enumerate(space.resolutions):
            for b in range(NUM_BLOCKS):
                for ki, k in enumerate(space.kernels):
                    for ei, e in enumerate(space.expands):
                        blk = space.block_shape(r, b, k, e)
                        self._block_macs[ri, b, ki, ei] = blk.macs()
                        self._block_params[ri, b, ki, ei] = blk.params()
            for _, macs, params in space.fixed_parts(r, num_classes).values():
                self._fixed_macs[ri] += macs
                self._fixed_params[ri] += params
        self._macs = BlockSum(space, self._block_macs, self._fixed_macs)
        self._params = BlockSum(space, self._block_params, self._fixed_params)

    def _genomes(self, configs: Sequence[SubnetConfig] | np.ndarray, check: bool, what: str) -> np.ndarray:
        return to_genomes(
            self.space, configs, check=check, what=what, other_space="use CostModel('{space}', num_classes)"
        )

    def macs(self, configs: Sequence[SubnetConfig] | np.ndarray, *, check: bool = True) -> np.ndarray:
        """Multiply-accumulates per image (conv and linear layers), one per config (``check=False``
        trusts genomes: for genomes from ``encode``/``sample`` in a hot loop)."""
        return self._macs(self._genomes(configs, check, "cost.macs"))

    def params(self, configs: Sequence[SubnetConfig] | np.ndarray, *, check: bool = True) -> np.ndarray:
        """Learnable parameters, one per config (equals the extracted module's count); ``check`` as in :meth:`macs`."""
        return self._params(self._genomes(configs, check, "cost.params"))

    def counts(self, config: SubnetConfig) -> dict[str, int]:
        """``{"macs": ..., "params": ...}`` of one subnet with this model's classifier, as integers."""
        return {"macs": int(self.macs([config])[0]), "params": int(self.params([config])[0])}

    def param_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-block parameter counts ``(resolutions, blocks, kernels, expands)`` and the fixed
        layers' count per resolution: the arrays :meth:`params` sums over active blocks."""
        return self._block_params, self._fixed_params
