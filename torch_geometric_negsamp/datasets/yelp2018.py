r"""The Yelp2018 recommendation dataset (LightGCN split)."""

from torch_geometric_negsamp.datasets.lightgcn_dataset import (
    LIGHTGCN_REPOSITORY,
    LightGCNDataset,
)


class Yelp2018(LightGCNDataset):
    r"""The Yelp2018 dataset in the train/test split of NGCF
    (`Wang et al., 2019 <https://arxiv.org/abs/1905.08108>`_) and LightGCN
    (`He et al., 2020 <https://arxiv.org/abs/2002.02126>`_): 31,668 users,
    38,048 items and 1,561,406 interactions as reported there.

    The raw files are not shipped and not downloaded: put :obj:`train.txt`
    and :obj:`test.txt` from the LightGCN reference repository
    (:obj:`data/yelp2018/`) into :obj:`root/raw/`. See
    :class:`~torch_geometric_negsamp.datasets.LightGCNDataset` for the
    arguments and the data layout.
    """

    display_name = 'Yelp2018'
    source = f'{LIGHTGCN_REPOSITORY}, folder data/yelp2018'
