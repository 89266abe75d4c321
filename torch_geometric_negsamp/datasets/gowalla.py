r"""The Gowalla recommendation dataset, embedded in the package."""

import importlib.resources
import os
import os.path as osp
from typing import Optional, Tuple

from torch_geometric_negsamp._validate import check_path
from torch_geometric_negsamp.datasets.interaction_split import (
    InteractionSplit,
)
from torch_geometric_negsamp.datasets.lightgcn_dataset import (
    LIGHTGCN_REPOSITORY,
    LightGCNDataset,
)
from torch_geometric_negsamp.datasets.lightgcn_file import (
    PathLike,
    decompress,
    parse_lightgcn_text,
    read_lightgcn_bytes,
    resolve_lightgcn_path,
    verify_sha256,
)

#: SHA-256 digests of the uncompressed Gowalla files (as given in
#: ``datasets/data/gowalla/README.md``).
GOWALLA_SHA256 = {
    'train.txt': (
        '7244696fdeb23911319cf7b689f2e15a3c4c92549c873a5677b44e3f13cc3e62'
    ),
    'test.txt': (
        '099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3'
    ),
}

_EMBEDDED = ('data', 'gowalla')


def _embedded_location(file_name: str) -> str:
    return '/'.join(
        ('torch_geometric_negsamp/datasets',) + _EMBEDDED + (file_name,)
    )


def _read_embedded(name: str) -> bytes:
    r"""Returns the verified, uncompressed content of the embedded
    :obj:`name` (:obj:`'train.txt'` or :obj:`'test.txt'`)."""
    resource = importlib.resources.files('torch_geometric_negsamp.datasets')
    for part in _EMBEDDED:
        resource = resource / part
    resource = resource / f'{name}.gz'
    location = _embedded_location(f'{name}.gz')
    if not resource.is_file():
        raise FileNotFoundError(
            f"The embedded Gowalla file '{location}' is "
            f'missing; reinstall torch_geometric_negsamp'
        )
    content = decompress(
        resource.read_bytes(),
        f"The embedded Gowalla file '{location}'",
        'it is damaged; reinstall torch_geometric_negsamp',
    )
    verify_sha256(content, GOWALLA_SHA256[name], location)
    return content


def _read_from_directory(directory: str, name: str) -> Tuple[bytes, str]:
    path = resolve_lightgcn_path(osp.join(directory, name))
    content = read_lightgcn_bytes(path)
    verify_sha256(content, GOWALLA_SHA256[name], path)
    return content, path


def load_gowalla(directory: Optional[PathLike] = None) -> InteractionSplit:
    r"""Loads the Gowalla check-in split used by NGCF
    (`Wang et al., 2019 <https://arxiv.org/abs/1905.08108>`_) and LightGCN
    (`He et al., 2020 <https://arxiv.org/abs/2002.02126>`_): 29,858 users,
    40,981 items, 810,128 training and 217,242 test interactions (data from
    `Cho et al., 2011 <https://snap.stanford.edu/data/loc-gowalla.html>`_).

    The split ships inside the package (gzip-compressed); the SHA-256 of
    every uncompressed file is checked against :obj:`GOWALLA_SHA256` before
    parsing.

    Args:
        directory (str or os.PathLike, optional): A folder holding
            :obj:`train.txt` and :obj:`test.txt` (plain or with a
            :obj:`.gz` suffix) to read instead of the embedded copy; they are
            checked against the same digests. (default: :obj:`None`)

    Returns:
        InteractionSplit: The split (no validation part).

    Raises:
        TypeError: If :obj:`directory` is not a path.
        FileNotFoundError: If a file is missing (the message names it).
        ValueError: If a file is damaged or its checksum differs (the
            message names it).
    """
    if directory is not None:
        directory = check_path(directory, 'directory')
    indices = []
    num_users = 0
    for name in ('train.txt', 'test.txt'):
        if directory is None:
            content, where = _read_embedded(name), _embedded_location(name)
        else:
            content, where = _read_from_directory(directory, name)
        edge_index, users = parse_lightgcn_text(content, where)
        indices.append(edge_index)
        num_users = max(num_users, users)
    num_items = max(int(e[1].max()) + 1 for e in indices)
    return InteractionSplit(indices[0], indices[1], num_users, num_items)


class Gowalla(LightGCNDataset):
    r"""The Gowalla dataset in the NGCF / LightGCN split, as a PyG dataset
    (see :func:`~torch_geometric_negsamp.datasets.load_gowalla` for the
    data and :class:`~torch_geometric_negsamp.datasets.LightGCNDataset` for
    the arguments and layout).

    :meth:`download` needs no network: it writes the embedded, checksum
    verified files to :obj:`root/raw/`. Processing verifies the raw files
    against :obj:`GOWALLA_SHA256` again, so a damaged or different
    :obj:`raw/train.txt` raises an error naming it.
    """

    display_name = 'Gowalla'
    source = f'{LIGHTGCN_REPOSITORY}, folder data/gowalla'
    sha256 = GOWALLA_SHA256

    def download(self) -> None:
        os.makedirs(self.raw_dir, exist_ok=True)
        for name, path in zip(self.raw_file_names, self.raw_paths):
            if not osp.isfile(path):
                content = _read_embedded(name)
                with open(path, 'wb') as f:
                    f.write(content)
