r"""Exposure data for RecNS-W: items shown to a user that the user did not
interact with, read from a file or a tensor, or simulated."""

from typing import Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._random import sample_ranks
from torch_geometric_negsamp._validate import (
    check_bool,
    check_float_tensor,
    check_in_range,
    check_instance,
    check_int,
    check_num_nodes,
    check_positive_int,
    check_same_device,
    check_user_item_index,
)
from torch_geometric_negsamp.datasets.lightgcn_file import (
    MAX_ID,
    PathLike,
    read_lightgcn_file_with_num_users,
    resolve_lightgcn_path,
)
from torch_geometric_negsamp.index import PositiveIndex

#: Entries a simulation block may score or test at once.
_BLOCK_ENTRIES = 2**24


class Exposure:
    r"""The exposed-but-not-interacted items of every user, the data of
    RecNS-W (Yang et al., `"Region or Global? A Principle for Negative
    Sampling in Graph-based Recommendation"
    <https://ieeexplore.ieee.org/document/9723581>`_, IEEE TKDE 2022),
    stored as a :class:`~torch_geometric_negsamp.PositiveIndex` (sorted
    ``(user, item)`` keys, one sorted row per user).

    Duplicate pairs are merged, and pairs that are training positives
    (given :obj:`train_index`) are removed: an item the user interacted
    with is no exposure-only item. Held-out (test) items may remain, as
    they may for every sampler: removing them would use test information.

    :attr:`simulated` tells whether the exposures were observed (a file or
    a tensor) or made up by :meth:`simulate`; :meth:`describe` says so in
    every line that reports them.

    Args:
        exposure_index (torch.Tensor): ``[2, X]`` (user, item) exposure
            pairs.
        num_users (int): The number of users.
        num_items (int): The number of items.
        train_index (torch.Tensor, optional): ``[2, E]`` training pairs to
            remove. (default: :obj:`None`)
        simulated (bool, optional): Whether the pairs are simulated.
            (default: :obj:`False`)
        source (str, optional): Where the pairs come from, for
            :meth:`describe`. (default: :obj:`"tensor"`)

    Raises:
        ValueError: If an id is out of range, the tensors live on different
            devices, or no pair is left once training positives are removed.
    """

    def __init__(
        self,
        exposure_index: Tensor,
        num_users: int,
        num_items: int,
        *,
        train_index: Optional[Tensor] = None,
        simulated: bool = False,
        source: str = 'tensor',
    ):
        self.num_users = check_num_nodes(num_users, 'num_users')
        self.num_items = check_num_nodes(num_items, 'num_items')
        self.simulated = check_bool(simulated, 'simulated')
        self.source = check_instance(source, 'source', str)
        pairs = check_user_item_index(
            exposure_index, 'exposure_index', self.num_users, self.num_items
        )
        given = pairs.size(1)
        if train_index is not None:
            train = check_user_item_index(
                train_index, 'train_index', self.num_users, self.num_items
            )
            check_same_device(
                train, 'train_index', pairs.device, "'exposure_index'"
            )
            known = PositiveIndex(train, self.num_users, self.num_items)
            pairs = pairs[:, ~known.contains_unchecked(pairs[0], pairs[1])]
        self.removed = given - pairs.size(1)
        if pairs.size(1) == 0:
            raise ValueError(
                f"'exposure_index' holds no exposure outside the training "
                f'positives (got {given} pairs, {self.removed} of them '
                f'training positives)'
            )
        self.index = PositiveIndex(pairs, self.num_users, self.num_items)

    # ------------------------------------------------------------ makers
    @classmethod
    def from_lightgcn_file(
        cls,
        path: PathLike,
        num_users: int,
        num_items: int,
        *,
        train_index: Optional[Tensor] = None,
        max_id: int = MAX_ID,
    ) -> 'Exposure':
        r"""Reads exposures from a file in the LightGCN format (one line
        per user, ``user item item ...``, plain or gzip-compressed, a
        missing :obj:`path` read from :obj:`path.gz`; the rules of
        :func:`~torch_geometric_negsamp.datasets.read_lightgcn_file`), such
        as an ``exposure.txt`` beside ``train.txt`` and ``test.txt``.

        Raises:
            FileNotFoundError: If the file is missing.
            ValueError: On a malformed line, a file without any exposure,
                or a user or item id out of range for the split (the
                message names the file).
        """
        num_users = check_num_nodes(num_users, 'num_users')
        num_items = check_num_nodes(num_items, 'num_items')
        path = resolve_lightgcn_path(path)
        pairs, _ = read_lightgcn_file_with_num_users(path, max_id=max_id)
        if pairs.size(1) == 0:
            raise ValueError(
                f"'{path}' holds no exposure (no line 'user item ...')"
            )
        for row, size, kind in (
            (0, num_users, 'user'),
            (1, num_items, 'item'),
        ):
            check_in_range(
                pairs[row],
                path,
                size,
                what=f'{kind} id',
                unit=f'{kind}s (the split has ids 0..{size - 1})',
            )
        if train_index is not None:
            pairs = pairs.to(train_index.device)
        return cls(
            pairs,
            num_users,
            num_items,
            train_index=train_index,
            source=f'file {path}',
        )

    @classmethod
    def simulate(
        cls,
        train_index: Tensor,
        num_users: int,
        num_items: int,
        top_n: int = 50,
        *,
        user_emb: Optional[Tensor] = None,
        item_emb: Optional[Tensor] = None,
    ) -> 'Exposure':
        r"""Simulates exposures from the training split alone, for data
        without an impression log: the items a ranker places in the user's
        top-:obj:`top_n` among those the user did not interact with in
        :obj:`train_index`. The ranker is item popularity (training degree,
        ties to the smaller id), or, given :obj:`user_emb` ``[U, d]`` and
        :obj:`item_emb` ``[I, d]`` (e.g. of a pre-trained model), the inner
        product (ties to the smaller id). The result has :attr:`simulated` set.

        A user with fewer than :obj:`top_n` non-interacted items is exposed
        to all of them. Test items may be among the simulated exposures:
        they are unknown to the simulator.
        """
        num_users = check_num_nodes(num_users, 'num_users')
        num_items = check_num_nodes(num_items, 'num_items')
        train = check_user_item_index(
            train_index, 'train_index', num_users, num_items
        )
        top_n = check_positive_int(top_n, 'top_n')
        if (user_emb is None) != (item_emb is None):
            raise ValueError(
                "give both 'user_emb' and 'item_emb' or neither (got only "
                f"'{'user_emb' if item_emb is None else 'item_emb'}')"
            )
        known = PositiveIndex(train, num_users, num_items)
        if user_emb is None:
            pairs = _popular_unseen(known, top_n)
            source = f'popularity top-{top_n}'
        else:
            _check_tables(user_emb, item_emb, num_users, num_items, train)
            pairs = _scored_unseen(known, user_emb, item_emb, top_n)
            source = f'model top-{top_n}'
        if pairs.size(1) == 0:
            raise ValueError(
                'the simulation exposes nothing: every user interacted with '
                'every item of the training split'
            )
        return cls(
            pairs,
            num_users,
            num_items,
            train_index=train,
            simulated=True,
            source=source,
        )

    # ---------------------------------------------------------- queries
    @property
    def device(self) -> torch.device:
        return self.index.device

    @property
    def num_pairs(self) -> int:
        r"""The number of distinct exposure pairs held."""
        return self.index.num_edges

    def sizes(self, users: Optional[Tensor] = None) -> Tensor:
        r"""The number of exposed items of :obj:`users` (of every user if
        :obj:`None`), ``long``."""
        if users is None:
            return self.index.degree()
        return self.index.degree(users)

    def sizes_unchecked(self, users: Tensor) -> Tensor:
        start, end = self.index.row_bounds_unchecked(users)
        return end - start

    def sample(
        self,
        users: Tensor,
        num: int,
        generator: Optional[torch.Generator] = None,
    ) -> Tensor:
        r"""Draws :obj:`num` exposed items for every entry of the 1-D
        :obj:`users`, ``[B, num]``: without replacement for a user with at
        least :obj:`num` of them, with replacement otherwise (see
        :func:`~torch_geometric_negsamp._random.sample_ranks`).

        Raises:
            ValueError: If a user has no exposed item.
        """
        users = self.index.check_src(users, 'users')
        if users.dim() != 1:
            raise ValueError(
                f"'users' must have shape [B] (got {list(users.shape)})"
            )
        num = check_int(num, 'num', minimum=0)
        empty = self.sizes_unchecked(users) == 0
        if users.numel() > 0 and bool(empty.any()):
            raise ValueError(
                f"user {int(users[empty][0])} in 'users' has no exposed item "
                f'({self.describe()})'
            )
        return self.sample_unchecked(users, num, generator)

    def sample_unchecked(
        self,
        users: Tensor,
        num: int,
        generator: Optional[torch.Generator] = None,
    ) -> Tensor:
        r""":meth:`sample` without checks or host synchronisation; rows of
        :obj:`-1` for users without exposure."""
        start, end = self.index.row_bounds_unchecked(users)
        rank = sample_ranks(end - start, num, generator)
        # Rows without exposure read key 0 (never used: masked below).
        at = torch.where(rank >= 0, start.unsqueeze(1) + rank, 0)
        items = self.index.keys[at] - users.unsqueeze(1) * self.num_items
        return torch.where(rank >= 0, items, -1)

    def describe(self) -> str:
        r"""One line for logs and reports, naming simulated exposures as
        such."""
        kind = 'SIMULATED exposure' if self.simulated else 'exposure'
        users = int((self.sizes() > 0).sum())
        return (
            f'{kind} ({self.source}): {self.num_pairs} pairs for {users} of '
            f'{self.num_users} users'
        )

    # ------------------------------------------------------------ device
    @property
    def nbytes(self) -> int:
        return self.index.nbytes

    def to(self, device) -> 'Exposure':
        r"""Moves the exposures to :obj:`device` (in place)."""
        self.index.to(device)
        return self

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_users={self.num_users}, '
            f'num_items={self.num_items}, num_pairs={self.num_pairs}, '
            f'simulated={self.simulated}, source={self.source!r})'
        )


def _popular_unseen(known: PositiveIndex, top_n: int) -> Tensor:
    r"""Per user, the :obj:`top_n` most popular items it did not interact
    with, as ``[2, X]`` pairs."""
    num_items, device = known.num_dst_nodes, known.device
    popularity = torch.bincount(known.edges()[1], minlength=num_items)
    order = torch.sort(-popularity, stable=True).indices
    # Among the top (top_n + degree) items, at least top_n are unseen.
    width = min(num_items, top_n + int(known.degree().max()))
    rows = max(1, _BLOCK_ENTRIES // width)
    items = order[:width].unsqueeze(0)
    out = []
    for start in range(0, known.num_src_nodes, rows):
        users = torch.arange(
            start, min(start + rows, known.num_src_nodes), device=device
        )
        unseen = ~known.contains_unchecked(users.unsqueeze(1), items)
        keep = unseen & (unseen.cumsum(dim=1) <= top_n)
        row, col = keep.nonzero(as_tuple=True)
        out.append(torch.stack([users[row], order[col]]))
    return torch.cat(out, dim=1)


def _scored_unseen(
    known: PositiveIndex, user_emb: Tensor, item_emb: Tensor, top_n: int
) -> Tensor:
    r"""Per user, the :obj:`top_n` highest-scored items it did not
    interact with, as ``[2, X]`` pairs."""
    num_users, num_items = known.num_src_nodes, known.num_dst_nodes
    rows = max(1, _BLOCK_ENTRIES // num_items)
    take = min(top_n, num_items)
    out = []
    with torch.no_grad():
        for start in range(0, num_users, rows):
            users = torch.arange(
                start, min(start + rows, num_users), device=known.device
            )
            scores = user_emb[users].detach() @ item_emb.detach().t()
            batch, seen = known.neighbors_unchecked(users)
            scores[batch, seen] = float('-inf')
            # A stable sort: ties go to the smaller id on every device.
            value, col = scores.sort(dim=1, descending=True, stable=True)
            value, col = value[:, :take], col[:, :take]
            row = torch.arange(users.numel(), device=users.device)
            row = row.unsqueeze(1).expand_as(col)
            ok = value > float('-inf')
            out.append(torch.stack([users[row[ok]], col[ok]]))
    return torch.cat(out, dim=1)


def _check_tables(user_emb, item_emb, num_users, num_items, train) -> None:
    for name, table, rows in (
        ('user_emb', user_emb, num_users),
        ('item_emb', item_emb, num_items),
    ):
        check_float_tensor(table, name, dim=2)
        if table.size(0) != rows:
            raise ValueError(
                f"'{name}' must have {rows} rows (got {table.size(0)})"
            )
        check_same_device(table, name, train.device, "'train_index'")
    if user_emb.size(1) != item_emb.size(1):
        raise ValueError(
            f"'user_emb' and 'item_emb' must have one width (got "
            f'{user_emb.size(1)} and {item_emb.size(1)})'
        )
