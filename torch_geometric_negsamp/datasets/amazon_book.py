r"""The Amazon-Book recommendation dataset (LightGCN split)."""

from torch_geometric_negsamp.datasets.lightgcn_dataset import (
    LIGHTGCN_REPOSITORY,
    LightGCNDataset,
)


class AmazonBook(LightGCNDataset):
    r"""Amazon-Book, as split for NGCF
    (`Wang et al., 2019 <https://arxiv.org/abs/1905.08108>`_) and LightGCN
    (`He et al., 2020 <https://arxiv.org/abs/2002.02126>`_): 52,643 users,
    91,599 items and 2,984,108 interactions. The raw files are not shipped:
    :obj:`root/raw/` takes those of :obj:`data/amazon-book/` in the LightGCN
    reference repository (arguments and layout: see
    :class:`~torch_geometric_negsamp.datasets.LightGCNDataset`).
    """

    display_name = 'Amazon-Book'
    source = f'{LIGHTGCN_REPOSITORY}, folder data/amazon-book'
