r"""The base class of the LightGCN-format recommendation datasets."""

import os.path as osp
from typing import Callable, Dict, List, Optional

from torch_geometric.data import HeteroData, InMemoryDataset

from torch_geometric_negsamp._validate import (
    check_bool,
    check_callable,
    check_path,
)
from torch_geometric_negsamp.datasets.interaction_split import (
    InteractionSplit,
)
from torch_geometric_negsamp.datasets.lightgcn_file import (
    resolve_lightgcn_path,
)

LIGHTGCN_REPOSITORY = 'https://github.com/gusye1234/LightGCN-PyTorch'


class LightGCNDataset(InMemoryDataset):
    r"""A user-item interaction dataset stored in the LightGCN text format
    (`He et al., 2020 <https://arxiv.org/abs/2002.02126>`_): the folder
    :obj:`root/raw/` holds :obj:`train.txt` and :obj:`test.txt` (or their
    gzip-compressed :obj:`train.txt.gz` and :obj:`test.txt.gz`), one line
    per user, :obj:`user item item ...` (see
    :func:`~torch_geometric_negsamp.datasets.read_lightgcn_file`).

    Processing builds an
    :class:`~torch_geometric_negsamp.datasets.InteractionSplit` and saves its
    :meth:`~torch_geometric_negsamp.datasets.InteractionSplit.to_hetero_data`
    form to :obj:`root/processed/data.pt`. :obj:`dataset[0]` is that
    :class:`~torch_geometric.data.HeteroData` (node types :obj:`'user'`,
    :obj:`'item'`; training edges in
    :obj:`data['user', 'rates', 'item'].edge_index`, test edges in
    :obj:`.test_edge_index`); :attr:`split` gives the
    :class:`~torch_geometric_negsamp.datasets.InteractionSplit`.

    This base class can be used directly on any folder in that layout.
    Nothing is downloaded: when a raw file is missing, :meth:`download`
    raises an error saying where to put it.

    Args:
        root (str or os.PathLike): The root folder (holding :obj:`raw/` and
            :obj:`processed/`).
        transform (callable, optional): A function applied to the
            :class:`~torch_geometric.data.HeteroData` on every access.
            (default: :obj:`None`)
        pre_transform (callable, optional): A function applied once before
            saving. (default: :obj:`None`)
        force_reload (bool, optional): Whether to re-process the dataset.
            (default: :obj:`False`)

    Raises:
        TypeError: If an argument has the wrong type.
        FileNotFoundError: If a raw file is missing (the message says where
            to put it).
        ValueError: If a raw file is malformed, holds no interaction or
            (for a subclass with :attr:`sha256`) has another checksum.
    """

    #: The dataset name used in messages.
    display_name: str = 'LightGCN-format dataset'
    #: Where the raw files can be obtained (used in messages).
    source: str = LIGHTGCN_REPOSITORY
    #: Optional expected SHA-256 digests of the raw files, by file name.
    sha256: Optional[Dict[str, str]] = None

    def __init__(
        self,
        root: str,
        transform: Optional[Callable] = None,
        pre_transform: Optional[Callable] = None,
        force_reload: bool = False,
    ) -> None:
        root = check_path(root, 'root')
        force_reload = check_bool(force_reload, 'force_reload')
        check_callable(transform, 'transform')
        check_callable(pre_transform, 'pre_transform')
        super().__init__(
            root, transform, pre_transform, force_reload=force_reload
        )
        self.load(self.processed_paths[0], data_cls=HeteroData)

    @property
    def raw_file_names(self) -> List[str]:
        # 'train.txt' or, when only that exists, 'train.txt.gz'.
        names = []
        for name in ('train.txt', 'test.txt'):
            try:
                path = resolve_lightgcn_path(osp.join(self.raw_dir, name))
            except FileNotFoundError:
                path = name
            names.append(osp.basename(path))
        return names

    @property
    def processed_file_names(self) -> str:
        return 'data.pt'

    def download(self) -> None:
        missing = [
            name
            for name, path in zip(self.raw_file_names, self.raw_paths)
            if not osp.isfile(path)
        ]
        raise FileNotFoundError(
            f'{self.display_name}: raw file(s) {missing} not found. Put '
            f"'train.txt' and 'test.txt' (LightGCN format, one line per "
            f"user: 'user item item ...'; plain or as 'train.txt.gz' and "
            f"'test.txt.gz') into '{self.raw_dir}'. They are "
            f'distributed with the LightGCN reference implementation '
            f'({self.source}). Nothing is downloaded automatically.'
        )

    def process(self) -> None:
        sha256 = self.sha256 or {}
        split = InteractionSplit.from_lightgcn_files(
            self.raw_paths[0],
            self.raw_paths[1],
            train_sha256=sha256.get('train.txt'),
            test_sha256=sha256.get('test.txt'),
        )
        data = split.to_hetero_data()
        if self.pre_transform is not None:
            data = self.pre_transform(data)
        self.save([data], self.processed_paths[0])

    @property
    def split(self) -> InteractionSplit:
        r"""The stored split (before :obj:`transform`, after
        :obj:`pre_transform`) as an
        :class:`~torch_geometric_negsamp.datasets.InteractionSplit`."""
        return InteractionSplit.from_hetero_data(self.get(0))

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(root={self.root!r})'
