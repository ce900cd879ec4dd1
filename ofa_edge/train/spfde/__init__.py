"""SpFDE training-cost levers: dynamic sparsity, progressive freezing, circular data sieving."""

from ofa_edge.train.spfde.freezing import FreezeConfig, LayerFreezer
from ofa_edge.train.spfde.ledger import SavedFlops, SpfdeCost
from ofa_edge.train.spfde.sieving import CircularSieve, SieveConfig, sieving_saved_flops
from ofa_edge.train.spfde.sparsity import SparseMasks, SparsityConfig
from ofa_edge.train.spfde.state import load_levers, save_levers

__all__ = [
    "CircularSieve",
    "FreezeConfig",
    "LayerFreezer",
    "SavedFlops",
    "SieveConfig",
    "SparseMasks",
    "SparsityConfig",
    "SpfdeCost",
    "load_levers",
    "save_levers",
    "sieving_saved_flops",
]
