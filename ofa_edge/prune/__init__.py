"""OTO one-shot structured pruning: ZIG partition, HSPG / HESSO, slim network construction."""

from ofa_edge.prune.hesso import HESSO
from ofa_edge.prune.hspg import HSPG
from ofa_edge.prune.slim import load_slim, save_slim, slim
from ofa_edge.prune.zig import ZIGPartition, partition

__all__ = ["HESSO", "HSPG", "ZIGPartition", "load_slim", "partition", "save_slim", "slim"]
