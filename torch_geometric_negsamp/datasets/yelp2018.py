r"""The Yelp2018 recommendation dataset (LightGCN split)."""

from torch_geometric_negsamp.datasets.lightgcn_dataset import (
    LIGHTGCN_REPOSITORY,
    LightGCNDataset,
)


class Yelp2018(LightGCNDataset):
    r"""Yelp2018 as split for NGCF and LightGCN (see
    :class:`~torch_geometric_negsamp.datasets.AmazonBook`): 31,668 users,
    38,048 items and 1,561,406 interactions; :obj:`root/raw/` takes the
    files of :obj:`data/yelp2018/` in the LightGCN reference repository
    (not shipped).
    """

    display_name = 'Yelp2018'
    source = f'{LIGHTGCN_REPOSITORY}, folder data/yelp2018'
