"""SpFDE training-cost levers: dynamic sparsity, progressive freezing, circular data sieving."""

from ofa_edge.train.spfde.freezing import FreezeConfig, LayerFreezer
from ofa_edge.train.spfde.ledger import SavedFlops, SpfdeCost
from ofa_edge.train.spfde.lever import SpfdeConfig, SpfdeLever
from ofa_edge.train.spfde.sieving import CircularSieve, SieveConfig, sieving_saved_flops
from ofa_edge.train.spfde.sparsity import SparseMasks, SparsityConfig

__all__ = [
    "CircularSieve",
    "FreezeConfig",
    "LayerFreezer",
    "SavedFlops",
    "SieveConfig",
    "SparseMasks",
    "SparsityConfig",
    "SpfdeConfig",
    "SpfdeCost",
    "SpfdeLever",
    "sieving_saved_flops",
]
