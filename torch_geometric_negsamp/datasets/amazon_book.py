r"""The Amazon-Book recommendation dataset (LightGCN split)."""

from torch_geometric_negsamp.datasets.lightgcn_dataset import (
    LIGHTGCN_REPOSITORY,
    LightGCNDataset,
)


class AmazonBook(LightGCNDataset):
    r"""The Amazon-Book dataset in the train/test split of NGCF
    (`Wang et al., 2019 <https://arxiv.org/abs/1905.08108>`_) and LightGCN
    (`He et al., 2020 <https://arxiv.org/abs/2002.02126>`_): 52,643 users,
    91,599 items and 2,984,108 interactions as reported there.

    The raw files are not shipped and not downloaded: put :obj:`train.txt`
    and :obj:`test.txt` from the LightGCN reference repository
    (:obj:`data/amazon-book/`) into :obj:`root/raw/`. See
    :class:`~torch_geometric_negsamp.datasets.LightGCNDataset` for the
    arguments and the data layout.
    """

    display_name = 'Amazon-Book'
    source = f'{LIGHTGCN_REPOSITORY}, folder data/amazon-book'
