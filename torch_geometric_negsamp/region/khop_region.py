r"""k-hop regions: the three-region principle of RecNS."""

import math
import time
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp._tensor_store import TensorStore
from torch_geometric_negsamp._validate import (
    check_choice,
    check_in_range,
    check_index_tensor,
    check_int,
    check_key_space,
    check_node_counts,
    check_positive_int,
    check_request_size,
    check_same_device,
    check_seed,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.region._build import (
    build_regions,
    check_budget,
)
from torch_geometric_negsamp.region._builder import STORAGES

#: Region labels returned by :meth:`KHopRegion.region_of`.
DISTANT, INTERMEDIATE, ADJACENT = 0, 1, 2
METHODS = ('exact', 'walk')


class KHopRegion(TensorStore):
    r"""The adjacent, intermediate and distant regions of every user, from
    the three-region principle of `"Region or Global? A Principle for
    Negative Sampling in Graph-based Recommendation"
    <https://ieeexplore.ieee.org/document/9723581>`_ (Yang et al., IEEE
    TKDE 2022), computed by sparse matrix powers.

    **Bipartite graphs** (:obj:`num_nodes=(num_users, num_items)`): with
    :math:`R` the binary user-item matrix of :obj:`edge_index` and
    :math:`k` odd,

    .. math::
        \mathrm{hop}(u, k) = \{ i : [(R R^\top)^{(k-1)/2} R]_{u,i} \neq 0 \},

    the items reachable from :math:`u` by a walk of exactly :math:`k` edges
    (the paper's Algorithm 1 with :math:`K = A^k`). A walk may step back and
    forth along an edge, so :math:`\mathrm{hop}(u, j) \subseteq
    \mathrm{hop}(u, k)` for odd :math:`j \le k`. With :math:`a` =
    :obj:`adjacent_hops` and :math:`E_u` the extra positives of :math:`u`:

    .. math::
        \mathcal{A}_u = \mathrm{hop}(u, a) \cup E_u, \quad
        \mathcal{I}_u = \mathrm{hop}(u, k) \setminus \mathcal{A}_u, \quad
        \mathcal{D}_u = \mathcal{V}_I \setminus
            (\mathcal{I}_u \cup \mathcal{A}_u).

    The adjacent region :math:`\mathcal{A}_u` (for :math:`a = 1` the user's
    own items) is never sampled; the intermediate region is the hard but
    plausible one; the distant region is everything else.

    **Homogeneous graphs** (:obj:`num_nodes` an int; link prediction): a
    path's parity means nothing there, so regions are by distance: with
    :math:`A` the adjacency of :obj:`edge_index` as given (directed: pass
    both directions of an undirected graph),

    .. math::
        \mathrm{reach}(u, k) = \{ v : [(A + I)^k]_{u,v} \neq 0 \},

    the nodes within :math:`k` edges of :math:`u`, :math:`u` included;
    :math:`\mathcal{A}_u = \mathrm{reach}(u, a) \cup E_u` (so :math:`u`
    itself and its neighbours are adjacent),
    :math:`\mathcal{I}_u = \mathrm{reach}(u, k) \setminus \mathcal{A}_u`,
    :math:`\mathcal{D}_u` the rest. Here :math:`a = 0` is allowed:
    :math:`\mathrm{reach}(u, 0) = \{u\}`, so that the intermediate region
    holds every node within :math:`k` edges but :math:`u` (the
    neighbourhood SANS corrupts within). "Users" and "items" below are then
    source and candidate nodes.

    **Computation.** The reach sets are computed in blocks of source rows
    by ``torch.sparse`` CSR products, binarised after each product,
    depth first so that no block's products are held at once; the block
    size follows from :obj:`memory_budget` (see ``docs/region.md``). With
    :obj:`method="walk"`, the intermediate region is approximated by the
    items that :obj:`num_walks` random walks of :math:`k` edges per user
    visit (a subset of the exact one; the adjacent region stays exact).

    **Storage.** :math:`\mathcal{N}_u = \mathcal{I}_u \cup \mathcal{A}_u`
    and :math:`\mathcal{A}_u` are two
    :class:`~torch_geometric_negsamp.region.HybridRowSet` (dense rows as
    bits with a rank directory, sparse rows as sorted keys). Distant draws
    select the :math:`r`-th non-member of :math:`\mathcal{N}_u`;
    intermediate draws select the :math:`r`-th member of
    :math:`\mathcal{N}_u` outside :math:`\mathcal{A}_u` (for :math:`a \le 1`
    through a :class:`~torch_geometric_negsamp.PositiveIndex` of the ranks
    of :math:`\mathcal{A}_u` in :math:`\mathcal{N}_u`, otherwise by a
    binary search over ranks). Both are exact and rejection free.

    A region may be empty (size 0): a user without interactions, or one
    whose :math:`k`-hop items are all adjacent. Checked draws then raise;
    the ``*_unchecked`` draws return :obj:`-1` for such users.

    Args:
        edge_index (torch.Tensor): The training interactions ``[2, E]``
            (user, item), or the edges of a homogeneous graph.
        num_nodes (int or tuple): :obj:`(num_users, num_items)` for a
            bipartite graph, the number of nodes of a homogeneous one.
        k (int, optional): Hops of the intermediate region (odd for a
            bipartite graph). (default: :obj:`3`)
        adjacent_hops (int, optional): Hops of the adjacent region,
            :math:`1 \le a < k` and odd for a bipartite graph,
            :math:`0 \le a < k` for a homogeneous one. (default: :obj:`1`)
        extra_positives (torch.Tensor or list, optional): Further known
            positives ``[2, *]`` (validation and test edges), adjacent and
            never sampled. (default: :obj:`None`)
        block_size (int, optional): Most source rows per product (the
            memory budget may split further). (default: :obj:`None`)
        memory_budget (int, optional): Bytes the products may hold at once
            (default: 768 MiB); too small a budget for one source row
            raises, naming the minimum.
        method (str, optional): :obj:`"exact"` or :obj:`"walk"`.
            (default: :obj:`"exact"`)
        num_walks (int, optional): Walks per user (:obj:`"walk"`).
            (default: :obj:`64`)
        seed (int, optional): Seed of the walks. (default: :obj:`None`)
        storage (str, optional): :obj:`"auto"` (per row, the cheaper of bits
            and keys), :obj:`"bits"` or :obj:`"ids"`. (default:
            :obj:`"auto"`)

    Example:
        >>> region = KHopRegion(edge_index, (num_users, num_items), k=3)
        >>> region.sizes()                       # [num_users]
        >>> region.contains(users, items)        # in the intermediate region
        >>> region.sample_intermediate(users)    # exact uniform draws
    """

    def __init__(
        self,
        edge_index: Tensor,
        num_nodes: Union[int, Tuple[int, int]],
        k: int = 3,
        adjacent_hops: int = 1,
        *,
        extra_positives: Optional[Union[Tensor, Sequence[Tensor]]] = None,
        block_size: Optional[int] = None,
        memory_budget: Optional[int] = None,
        method: str = 'exact',
        num_walks: int = 64,
        seed: Optional[int] = None,
        storage: str = 'auto',
    ):
        start = time.perf_counter()
        self.bipartite, self.num_users, self.num_items = check_node_counts(
            num_nodes
        )
        self.k, self.adjacent_hops = check_hops(
            k, adjacent_hops, self.bipartite
        )
        options = check_options(
            block_size, memory_budget, method, num_walks, seed, storage
        )
        for name, value in options.items():
            setattr(self, name, value)
        # The index of positives validates the edges and the extra
        # positives (shapes, dtypes, ranges) and merges them, self-loops
        # included on a homogeneous graph (a node is adjacent to itself).
        check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
        check_key_space(self.num_users, self.num_items, 'num_nodes')
        # Row pointers of R and its transpose, and per-user counts of two
        # row sets: a few int64 per user and per item.
        check_request_size(
            self.num_users + self.num_items,
            'num_nodes',
            element_size=64,
            what='per-node region bookkeeping',
        )
        positives = PositiveIndex(
            edge_index,
            self.num_users,
            self.num_items,
            exclude_self=not self.bipartite,
            extra_positives=extra_positives,
        )
        own = None
        if self.adjacent_hops == 0:
            # Adjacent: each node itself and its extra positives only.
            own = PositiveIndex(
                edge_index[:, :0],
                self.num_users,
                exclude_self=True,
                extra_positives=extra_positives,
            ).edges()
        self.reach, self.adjacent, self._rank_index, self.stats = (
            build_regions(self, edge_index.long(), positives, own)
        )
        self._sizes = self.reach.count - self.adjacent.count
        self._distant_sizes = self.num_items - self.reach.count
        self.stats['seconds'] = time.perf_counter() - start

    @classmethod
    def from_data(cls, data, edge_type=None, **kwargs) -> 'KHopRegion':
        r"""The regions of a :class:`~torch_geometric.data.Data`
        (homogeneous) or of one :obj:`edge_type` of a
        :class:`~torch_geometric.data.HeteroData` (bipartite when its two
        node types differ; the ``(src, dst)`` shorthand accepted)."""
        from torch_geometric_negsamp._edge_types import edge_store

        edge_type, store, num_src, num_dst = edge_store(data, edge_type)
        if edge_type is None or edge_type[0] == edge_type[-1]:
            return cls(store.edge_index, num_src, **kwargs)
        return cls(store.edge_index, (num_src, num_dst), **kwargs)

    # ------------------------------------------------------------ checks
    @property
    def device(self) -> torch.device:
        return self.reach.device

    def check_users(self, users, name: str = 'users') -> Tensor:
        r"""Checks that :obj:`users` holds user (source node) ids of the
        regions and returns them as :obj:`long`."""
        return self._check_ids(users, name, self.num_users, 'user')

    def check_items(self, items, name: str = 'items') -> Tensor:
        r"""As :meth:`check_users`, for item (destination node) ids."""
        return self._check_ids(items, name, self.num_items, 'item')

    def _check_ids(self, ids, name: str, size: int, kind: str) -> Tensor:
        check_index_tensor(ids, name)
        check_same_device(ids, name, self.device, 'the region')
        if self.bipartite:
            what, unit = f'{kind} id', f'{kind}s'
        else:
            what, unit = 'node index', 'nodes'
        check_in_range(ids, name, size, what=what, unit=unit)
        return ids.long()

    def _pairs(self, users, items) -> Tuple[Tensor, Tensor]:
        users, items = self.check_users(users), self.check_items(items)
        return torch.broadcast_tensors(users, items)

    # ----------------------------------------------------------- queries
    def contains(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Boolean tensor, :obj:`True` where :obj:`items` is in the
        intermediate region of :obj:`users` (shapes broadcast)."""
        return self.contains_unchecked(*self._pairs(users, items))

    def contains_unchecked(self, users: Tensor, items: Tensor) -> Tensor:
        return self.reach.contains_unchecked(
            users, items
        ) & ~self.adjacent.contains_unchecked(users, items)

    def region_of(self, users: Tensor, items: Tensor) -> Tensor:
        r"""The region of every pair: :obj:`0` distant, :obj:`1`
        intermediate, :obj:`2` adjacent (``long``; shapes broadcast)."""
        return self.region_of_unchecked(*self._pairs(users, items))

    def region_of_unchecked(self, users: Tensor, items: Tensor) -> Tensor:
        near = self.reach.contains_unchecked(users, items).long()
        adjacent = self.adjacent.contains_unchecked(users, items)
        return torch.where(adjacent, ADJACENT, near * INTERMEDIATE)

    def sizes(self, users: Optional[Tensor] = None) -> Tensor:
        r"""Intermediate-region sizes of :obj:`users` (of every user if
        :obj:`None`), ``long``."""
        if users is None:
            return self._sizes
        return self._sizes[self.check_users(users)]

    def distant_sizes(self, users: Optional[Tensor] = None) -> Tensor:
        r"""Distant-region sizes of :obj:`users` (every user if
        :obj:`None`), ``long``."""
        if users is None:
            return self._distant_sizes
        return self._distant_sizes[self.check_users(users)]

    def adjacent_sizes(self, users: Optional[Tensor] = None) -> Tensor:
        r"""Adjacent-region sizes (never sampled), ``long``."""
        if users is None:
            return self.adjacent.count
        return self.adjacent.count[self.check_users(users)]

    # ---------------------------------------------------------- sampling
    def sample_intermediate(
        self, users: Tensor, generator: Optional[torch.Generator] = None
    ) -> Tensor:
        r"""Draws, for every entry of :obj:`users`, one item uniformly from
        its intermediate region (same shape as :obj:`users`). Exact and
        rejection free.

        Raises:
            ValueError: If a user's intermediate region is empty.
        """
        return self._draw_checked(users, 'intermediate', generator)

    def sample_intermediate_unchecked(
        self, users: Tensor, generator: Optional[torch.Generator] = None
    ) -> Tensor:
        r""":meth:`sample_intermediate` without checks or host
        synchronisation; :obj:`-1` for users whose region is empty."""
        return self._draw(users, 'intermediate', generator)

    def sample_distant(
        self, users: Tensor, generator: Optional[torch.Generator] = None
    ) -> Tensor:
        r"""As :meth:`sample_intermediate`, from the distant region (raises
        if a user's distant region is empty)."""
        return self._draw_checked(users, 'distant', generator)

    def sample_distant_unchecked(
        self, users: Tensor, generator: Optional[torch.Generator] = None
    ) -> Tensor:
        r""":meth:`sample_distant` as :meth:`sample_intermediate_unchecked`
        (:obj:`-1` for users whose distant region is empty)."""
        return self._draw(users, 'distant', generator)

    def select_intermediate_unchecked(
        self, users: Tensor, rank: Tensor
    ) -> Tensor:
        r"""The :obj:`rank`-th (0-based, in id order) item of the
        intermediate region of every entry of :obj:`users`, for
        ``0 <= rank < sizes()[users]`` (not checked; a rank of :obj:`0` on
        an empty region is safe and returns an arbitrary id). A caller that
        draws the rank itself chooses the region of each draw first and
        spends one rank per draw (see
        :class:`~torch_geometric_negsamp.sampler.RegionSampler`)."""
        return self._select_intermediate(users, rank)

    def select_distant_unchecked(self, users: Tensor, rank: Tensor) -> Tensor:
        r"""The :obj:`rank`-th (0-based, in id order) item of the distant
        region of every entry of :obj:`users`, for
        ``0 <= rank < distant_sizes()[users]`` (not checked, as
        :meth:`select_intermediate_unchecked`)."""
        # The r-th item outside the reach row (intermediate and adjacent).
        return self.reach.select_complement_unchecked(users, rank)

    def log_prob(
        self, users: Tensor, items: Tensor, region: str = 'intermediate'
    ) -> Tensor:
        r"""The log-probability that :meth:`sample_intermediate` (or
        :meth:`sample_distant` with :obj:`region="distant"`) draws
        :obj:`items` for :obj:`users`: :math:`-\log |\mathcal{I}_u|` inside
        the region, :math:`-\infty` outside (shapes broadcast)."""
        region = check_choice(region, 'region', ('intermediate', 'distant'))
        users, items = self._pairs(users, items)
        label = self.region_of_unchecked(users, items)
        inside = label == (
            INTERMEDIATE if region == 'intermediate' else DISTANT
        )
        size = self._region(region)[0][users]
        out = -torch.log(size.clamp(min=1).to(torch.get_default_dtype()))
        return torch.where(inside, out, -math.inf)

    def _draw_checked(self, users, which: str, generator) -> Tensor:
        users = self.check_users(users)
        empty = self._region(which)[0][users] <= 0
        if users.numel() > 0 and bool(empty.any()):
            bad = int(users[empty].view(-1)[0])
            raise ValueError(
                f"user {bad} in 'users' has an empty {which} region "
                f'(k={self.k}, adjacent_hops={self.adjacent_hops}); check '
                f'sizes() or use the *_unchecked draw, which returns -1'
            )
        return self._draw(users, which, generator)

    def _region(self, which: str) -> Tuple[Tensor, Callable]:
        r"""The sizes and the rank selection of region :obj:`which`."""
        if which == 'intermediate':
            return self._sizes, self.select_intermediate_unchecked
        return self._distant_sizes, self.select_distant_unchecked

    def _draw(self, users: Tensor, which: str, generator) -> Tensor:
        sizes, select = self._region(which)
        size = sizes[users]
        rank = randint_below(size.clamp(min=1), generator)
        return torch.where(size > 0, select(users, rank), -1)

    def _select_intermediate(self, users: Tensor, rank: Tensor) -> Tensor:
        if self._rank_index is not None:
            # The r-th rank of the reach row that is not an adjacent item's
            # rank, then the member of that rank.
            rank = self._rank_index.complement_select_unchecked(users, rank)
            return self.reach.select_unchecked(users, rank)
        # The smallest t with rank + 1 intermediate members in [0, t]:
        # binary search on (reach - adjacent) ranks, exact, about
        # log2(num_items) steps.
        lo = torch.zeros_like(rank)
        hi = torch.full_like(rank, self.num_items - 1)
        for _ in range(self.num_items.bit_length()):
            mid = (lo + hi) >> 1
            upto = self.reach.rank_unchecked(users, mid + 1)
            upto = upto - self.adjacent.rank_unchecked(users, mid + 1)
            ok = upto > rank
            hi = torch.where(ok, mid, hi)
            lo = torch.where(ok, lo, mid + 1)
        return lo

    # ------------------------------------------------------------ device
    _TENSORS = ('_sizes', '_distant_sizes')

    def _parts(self) -> list:
        r"""The row sets the regions hold (moved in place)."""
        parts = [self.reach, self.adjacent, self._rank_index]
        return [part for part in parts if part is not None]

    def __repr__(self) -> str:
        nodes = (
            f'num_users={self.num_users}, num_items={self.num_items}'
            if self.bipartite
            else f'num_nodes={self.num_users}'
        )
        return (
            f'{self.__class__.__name__}({nodes}, k={self.k}, '
            f'adjacent_hops={self.adjacent_hops}, method={self.method!r}, '
            f'pairs={int(self._sizes.sum())}, nbytes={self.nbytes}, '
            f'device={self.device})'
        )


def check_options(
    block_size, memory_budget, method, num_walks, seed, storage
) -> Dict[str, Any]:
    r"""Checks the build options of :class:`KHopRegion` and returns them by
    name (the memory budget's default filled in)."""
    return dict(
        block_size=(
            None
            if block_size is None
            else check_positive_int(block_size, 'block_size')
        ),
        memory_budget=check_budget(memory_budget),
        method=check_choice(method, 'method', METHODS),
        num_walks=check_positive_int(num_walks, 'num_walks'),
        seed=None if seed is None else check_seed(seed),
        storage=check_choice(storage, 'storage', STORAGES),
    )


def check_hops(k, adjacent_hops, bipartite: bool) -> Tuple[int, int]:
    r"""Checks :obj:`k` and :obj:`adjacent_hops` (``a < k``; positive and
    odd on a bipartite graph, ``a >= 0`` on a homogeneous one) and returns
    them."""
    k = check_int(k, 'k', minimum=1)
    # reach(u, 0) = {u}: on a homogeneous graph, adjacent_hops=0 makes
    # only u itself (and its extra positives) adjacent.
    adjacent_hops = check_int(
        adjacent_hops, 'adjacent_hops', minimum=1 if bipartite else 0
    )
    if bipartite:
        for name, value in (('k', k), ('adjacent_hops', adjacent_hops)):
            if value % 2 == 0:
                raise ValueError(
                    f"'{name}' must be odd on a bipartite graph (a walk "
                    f'from a user reaches items after an odd number of '
                    f'edges) (got {value})'
                )
    if adjacent_hops >= k:
        raise ValueError(
            f"'adjacent_hops' must be smaller than 'k' (got "
            f'adjacent_hops={adjacent_hops}, k={k})'
        )
    return k, adjacent_hops
