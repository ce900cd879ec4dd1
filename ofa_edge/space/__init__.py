"""Search spaces, subnet configs, their encodings and analytic costs."""

from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.cost import CostModel
from ofa_edge.space.search_space import BlockShape, SearchSpace

__all__ = ["BlockShape", "CostModel", "SearchSpace", "SubnetConfig"]
