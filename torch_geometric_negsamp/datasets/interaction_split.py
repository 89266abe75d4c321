r"""A train / test (/ validation) split of user-item interactions."""

from dataclasses import dataclass
from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from torch_geometric_negsamp._random import (
    group_shuffle,
    make_generator,
    randperm,
)
from torch_geometric_negsamp._validate import (
    check_int,
    check_num_nodes,
    check_real,
    check_request_size,
    check_same_device,
    check_user_item_index,
)
from torch_geometric_negsamp.datasets.lightgcn_file import (
    MAX_ID,
    PathLike,
    read_lightgcn_file_with_num_users,
    resolve_lightgcn_path,
)
from torch_geometric_negsamp.index import sorted_contains

EDGE_TYPE = ('user', 'rates', 'item')
REV_EDGE_TYPE = ('item', 'rev_rates', 'user')


@dataclass(repr=False, eq=False)
class InteractionSplit:
    r"""A split of implicit-feedback interactions between :obj:`num_users`
    users and :obj:`num_items` items, in the LightGCN convention
    (`He et al., 2020 <https://arxiv.org/abs/2002.02126>`_): training edges
    feed the model and are masked at evaluation; test (and validation) edges
    are the held-out positives.

    Args:
        train_index (torch.Tensor): Training :obj:`(user, item)` pairs of shape
            :obj:`[2, E_train]`.
        test_index (torch.Tensor): Test pairs of shape :obj:`[2, E_test]`.
        num_users (int): The number of users (ids :obj:`0..num_users-1`).
        num_items (int): The number of items (ids :obj:`0..num_items-1`).
        val_index (torch.Tensor, optional): Validation pairs of shape
            :obj:`[2, E_val]`. (default: :obj:`None`)

    Integer indices of any integer dtype are converted to :obj:`torch.long`.
    The indices may be empty (e.g. a small :meth:`subset`);
    :meth:`from_lightgcn_files` refuses files without interactions.

    Raises:
        TypeError: If a count is not an int or an index not an integer
            tensor.
        ValueError: If a count is outside :math:`[1, 2^{53}]`, an index has
            another shape than :obj:`[2, E]`, holds an id out of range or
            lives on another device than :obj:`train_index`.
    """

    train_index: Tensor
    test_index: Tensor
    num_users: int
    num_items: int
    val_index: Optional[Tensor] = None

    def __post_init__(self) -> None:
        self.num_users = check_num_nodes(self.num_users, 'num_users')
        self.num_items = check_num_nodes(self.num_items, 'num_items')
        names = ['train_index', 'test_index']
        if self.val_index is not None:
            names.append('val_index')
        for name in names:
            setattr(
                self,
                name,
                check_user_item_index(
                    getattr(self, name), name, self.num_users, self.num_items
                ),
            )
        for name in names[1:]:
            check_same_device(
                getattr(self, name),
                name,
                self.train_index.device,
                "'train_index'",
            )

    @classmethod
    def from_lightgcn_files(
        cls,
        train_path: PathLike,
        test_path: PathLike,
        train_sha256: Optional[str] = None,
        test_sha256: Optional[str] = None,
        max_id: int = MAX_ID,
    ) -> 'InteractionSplit':
        r"""Reads a split from two LightGCN-format files (see
        :func:`~torch_geometric_negsamp.datasets.read_lightgcn_file` for the
        format, gzip and the :obj:`.gz` fallback).

        :obj:`num_users` and :obj:`num_items` are the largest ids seen in
        either file plus one (users listed without items count). Both files
        must hold at least one interaction: a split without training or
        test pairs is refused here, before any training.

        Args:
            train_path (str or os.PathLike): The training file (read from
                :obj:`train_path.gz` when only that exists).
            test_path (str or os.PathLike): The test file (likewise).
            train_sha256 (str, optional): Expected SHA-256 of the uncompressed
                training file. (default: :obj:`None`)
            test_sha256 (str, optional): Expected SHA-256 of the uncompressed
                test file. (default: :obj:`None`)
            max_id (int, optional): The largest user or item id accepted in
                either file. (default: :obj:`MAX_ID`, :math:`2^{31} - 1`)

        Raises:
            FileNotFoundError: If a file is missing (the message names it).
            ValueError: On a malformed line, an id above :obj:`max_id`, a
                checksum mismatch, a damaged gzip stream, or a file without
                any interaction (the message names the file).
        """
        parts = []
        files = ((train_path, train_sha256), (test_path, test_sha256))
        for path, sha256 in files:
            index, users = read_lightgcn_file_with_num_users(
                path, sha256, max_id
            )
            if index.size(1) == 0:
                raise ValueError(
                    f"'{resolve_lightgcn_path(path)}' holds no interaction "
                    f"(no line 'user item ...'); a split needs training and "
                    f'test pairs'
                )
            parts.append((index, users))
        (train, train_users), (test, test_users) = parts
        num_items = max(int(e[1].max()) + 1 for e in (train, test))
        return cls(train, test, max(train_users, test_users), num_items)

    @property
    def num_train(self) -> int:
        r"""The number of training interactions."""
        return self.train_index.size(1)

    @property
    def num_test(self) -> int:
        r"""The number of test interactions."""
        return self.test_index.size(1)

    @property
    def num_val(self) -> int:
        r"""The number of validation interactions (:obj:`0` if none)."""
        return 0 if self.val_index is None else self.val_index.size(1)

    def to(self, device: Union[str, torch.device]) -> 'InteractionSplit':
        r"""Returns a copy with all indices on :obj:`device`."""
        val = None if self.val_index is None else self.val_index.to(device)
        return InteractionSplit(
            self.train_index.to(device),
            self.test_index.to(device),
            self.num_users,
            self.num_items,
            val,
        )

    def to_hetero_data(self) -> HeteroData:
        r"""Returns the split as a bipartite
        :class:`~torch_geometric.data.HeteroData`.

        Node types :obj:`'user'` and :obj:`'item'` (only :obj:`num_nodes` is
        set); edge type :obj:`('user', 'rates', 'item')` holds the training
        edges as :obj:`edge_index` and the held-out edges as
        :obj:`test_edge_index` (and :obj:`val_edge_index` when present);
        :obj:`('item', 'rev_rates', 'user')` holds the reversed training
        edges, the name :class:`~torch_geometric.transforms.ToUndirected`
        would give them (so do not apply that transform on top: it would add
        a second reverse type).
        """
        data = HeteroData()
        data['user'].num_nodes = self.num_users
        data['item'].num_nodes = self.num_items
        data[EDGE_TYPE].edge_index = self.train_index
        data[EDGE_TYPE].test_edge_index = self.test_index
        if self.val_index is not None:
            data[EDGE_TYPE].val_edge_index = self.val_index
        data[REV_EDGE_TYPE].edge_index = self.train_index.flip(0)
        return data

    @classmethod
    def from_hetero_data(cls, data: HeteroData) -> 'InteractionSplit':
        r"""Inverse of :meth:`to_hetero_data`."""
        if (
            not isinstance(data, HeteroData)
            or EDGE_TYPE not in data.edge_types
        ):
            raise ValueError(
                f"'data' must be a HeteroData with edge type "
                f'{EDGE_TYPE} (got {data!r})'
            )
        store = data[EDGE_TYPE]
        if 'test_edge_index' not in store:
            raise ValueError(f"'data[{EDGE_TYPE}]' has no 'test_edge_index'")
        return cls(
            store.edge_index,
            store.test_edge_index,
            data['user'].num_nodes,
            data['item'].num_nodes,
            store.get('val_edge_index'),
        )

    def to_homogeneous_edge_index(self) -> Tensor:
        r"""Returns the training graph as an undirected homogeneous
        :obj:`edge_index` of shape :obj:`[2, 2 * E_train]` over
        :obj:`num_users + num_items` nodes: users keep their ids, item
        :obj:`i` becomes node :obj:`num_users + i`. The first
        :obj:`E_train` columns are the user-to-item edges in training order,
        the last :obj:`E_train` their reverses.
        """
        user, item = self.train_index[0], self.train_index[1] + self.num_users
        return torch.stack([torch.cat([user, item]), torch.cat([item, user])])

    def with_validation(
        self, fraction: float, seed: int = 0
    ) -> 'InteractionSplit':
        r"""Returns a new split that moves a per-user random fraction of the
        training edges into :obj:`val_index`.

        A user with :math:`n \geq 2` training items gives
        :math:`\min(\lceil f \cdot n \rceil, n - 1)` of them to validation, so
        every such user keeps at least one training item and gets at least
        one validation item; a user with a single training item keeps it.
        The draw depends only on :obj:`seed` (it runs on a CPU generator), so
        it is identical on every device. Remaining training edges keep their
        order.

        The draw: one :func:`torch.randperm` of the training edges on a
        CPU generator seeded with :obj:`seed`, grouped by user
        (:func:`~torch_geometric_negsamp._random.group_shuffle`); each
        user's first edges in that order go to validation. The work is
        :math:`O(E_{train} \log E_{train})`, whatever :obj:`num_users`.

        Args:
            fraction (float): The fraction :math:`f \in (0, 1)` of every
                user's training items to hold out.
            seed (int, optional): The random seed. (default: :obj:`0`)

        Raises:
            TypeError: If :obj:`fraction` is not a real number or
                :obj:`seed` not an int.
            ValueError: If :obj:`fraction` is outside :math:`(0, 1)` or not
                finite, :obj:`seed` is outside the range of
                :meth:`torch.Generator.manual_seed`, or the split already
                has a validation part.
        """
        fraction = check_real(
            fraction,
            'fraction',
            minimum=0.0,
            maximum=1.0,
            open_min=True,
            open_max=True,
        )
        generator = make_generator(seed, None)
        if self.val_index is not None:
            raise ValueError("This split already has a 'val_index'")

        device = self.train_index.device
        # Users numbered densely in id order among those with a training
        # edge: the work is O(E_train), whatever num_users.
        users, seg = torch.unique(
            self.train_index[0].cpu(), return_inverse=True
        )
        # Random order inside every user.
        order, pos = group_shuffle(seg, users.numel(), generator)
        rank = torch.empty_like(pos)
        rank[order] = pos
        count = torch.bincount(seg, minlength=users.numel())
        num_val = torch.ceil(count.double() * fraction).long()
        num_val = torch.minimum(num_val, count - 1)
        is_val = (rank < num_val[seg]).to(device)
        return InteractionSplit(
            self.train_index[:, ~is_val],
            self.test_index,
            self.num_users,
            self.num_items,
            self.train_index[:, is_val],
        )

    def subset(
        self, num_users: int, seed: Optional[int] = None
    ) -> 'InteractionSplit':
        r"""Returns a smaller split restricted to :obj:`num_users` users, for
        quick experiments and tests.

        Users are the first :obj:`num_users` ids when :obj:`seed` is
        :obj:`None`, otherwise a random sample drawn with :obj:`seed`. Kept
        users are renumbered :obj:`0..num_users-1` in increasing order of
        their old id; items are those appearing in any kept edge
        (train, test or validation), renumbered densely in increasing order
        of their old id.

        Args:
            num_users (int): The number of users to keep, in
                :obj:`[1, self.num_users]`.
            seed (int, optional): Seed of a random user sample; :obj:`None`
                keeps the first users. (default: :obj:`None`)

        Raises:
            TypeError: If an argument is not an int.
            ValueError: If :obj:`num_users` is out of range, the kept users
                have no interaction, or (with a :obj:`seed`) a random order
                of all :obj:`self.num_users` users would not fit in memory.
        """
        num_users = check_int(
            num_users, 'num_users', minimum=1, maximum=self.num_users
        )
        device = self.train_index.device
        if seed is not None:
            generator = make_generator(seed, None)
            check_request_size(
                self.num_users, 'num_users', what='a random order of users'
            )
            users = randperm(self.num_users, 'cpu', generator)
            users = users[:num_users].sort()[0].to(device)
        else:
            users = torch.arange(num_users, device=device)

        # Kept users are renumbered by their rank among the kept ids, items
        # by their rank among the kept items (no map over all ids).
        indices = [self.train_index, self.test_index, self.val_index]
        kept = [
            None if e is None else e[:, sorted_contains(users, e[0])]
            for e in indices
        ]
        items = torch.cat([e[1] for e in kept if e is not None]).unique()
        if items.numel() == 0:
            raise ValueError(
                f'The selected {num_users} users have no '
                f'interaction; choose more users'
            )
        out = [
            None
            if e is None
            else torch.stack(
                [
                    torch.searchsorted(users, e[0]),
                    torch.searchsorted(items, e[1]),
                ]
            )
            for e in kept
        ]
        return InteractionSplit(
            out[0], out[1], num_users, items.numel(), out[2]
        )

    def __repr__(self) -> str:
        val = f', num_val={self.num_val}' if self.val_index is not None else ''
        return (
            f'{self.__class__.__name__}(num_users={self.num_users}, '
            f'num_items={self.num_items}, num_train={self.num_train}, '
            f'num_test={self.num_test}{val})'
        )
