"""SpFDE training-cost levers: dynamic sparsity, progressive freezing, circular data sieving."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ofa_edge.lazy import lazy_exports

if TYPE_CHECKING:
    from ofa_edge.train.spfde.freezing import FreezeConfig, LayerFreezer
    from ofa_edge.train.spfde.ledger import SavedFlops, SpfdeCost
    from ofa_edge.train.spfde.lever import SpfdeConfig, SpfdeLever
    from ofa_edge.train.spfde.sieving import CircularSieve, SieveConfig, sieving_saved_flops
    from ofa_edge.train.spfde.sparsity import SparseMasks, SparsityConfig

_WHERE = {
    "CircularSieve": "sieving",
    "FreezeConfig": "freezing",
    "LayerFreezer": "freezing",
    "SavedFlops": "ledger",
    "SieveConfig": "sieving",
    "SparseMasks": "sparsity",
    "SparsityConfig": "sparsity",
    "SpfdeConfig": "lever",
    "SpfdeCost": "ledger",
    "SpfdeLever": "lever",
    "sieving_saved_flops": "sieving",
}
__all__ = [
    "CircularSieve", "FreezeConfig", "LayerFreezer", "SavedFlops", "SieveConfig", "SparseMasks", "SparsityConfig",
    "SpfdeConfig", "SpfdeCost", "SpfdeLever", "sieving_saved_flops",
]  # fmt: skip
__getattr__ = lazy_exports(__name__, {name: f"{__name__}.{module}" for name, module in _WHERE.items()})
