r"""Recommendation datasets in the LightGCN format, and the embedded
Gowalla split."""

from torch_geometric_negsamp.datasets.amazon_book import AmazonBook
from torch_geometric_negsamp.datasets.exposure import Exposure
from torch_geometric_negsamp.datasets.gowalla import (
    GOWALLA_SHA256,
    Gowalla,
    load_gowalla,
)
from torch_geometric_negsamp.datasets.interaction_split import (
    InteractionSplit,
)
from torch_geometric_negsamp.datasets.lightgcn_dataset import LightGCNDataset
from torch_geometric_negsamp.datasets.lightgcn_file import (
    MAX_ID,
    read_lightgcn_file,
)
from torch_geometric_negsamp.datasets.yelp2018 import Yelp2018

__all__ = [
    'read_lightgcn_file',
    'InteractionSplit',
    'LightGCNDataset',
    'Gowalla',
    'Yelp2018',
    'AmazonBook',
    'load_gowalla',
    'GOWALLA_SHA256',
    'MAX_ID',
    'Exposure',
]
