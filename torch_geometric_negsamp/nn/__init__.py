r"""Graph recommender encoders over a user-item interaction graph."""

from torch_geometric_negsamp.nn.adjacency import normalized_adjacency
from torch_geometric_negsamp.nn.encoder import RecommenderEncoder
from torch_geometric_negsamp.nn.lightgcn import LightGCN
from torch_geometric_negsamp.nn.ngcf import NGCF
from torch_geometric_negsamp.nn.pinsage import PinSage
from torch_geometric_negsamp.nn.propagate import propagate

__all__ = [
    'LightGCN',
    'NGCF',
    'PinSage',
    'RecommenderEncoder',
    'normalized_adjacency',
    'propagate',
]
