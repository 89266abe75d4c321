r"""The exact index of known positive pairs, and the sorted-key math it
rests on (the one home of membership and complement ranks)."""

from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._edge_types import (
    check_edge_index,
    check_edge_list,
)
from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp._tensor_store import TensorStore
from torch_geometric_negsamp._validate import (
    check_bool,
    check_in_range,
    check_index_tensor,
    check_int,
    check_key_space,
    check_num_nodes,
    check_same_device,
)


# ---------------------------------------------------- sorted-key math
def sorted_contains(keys: Tensor, query: Tensor) -> Tensor:
    r"""Boolean mask, :obj:`True` where :obj:`query` is in the sorted 1-D
    :obj:`keys` (one :func:`torch.searchsorted`; any query shape)."""
    if keys.numel() == 0:
        return torch.zeros(query.shape, dtype=torch.bool, device=query.device)
    flat = query.reshape(-1)
    pos = torch.searchsorted(keys, flat).clamp_(max=keys.numel() - 1)
    return (keys[pos] == flat).view(query.shape)


def complement_shift(keys: Tensor) -> Tensor:
    r"""``keys[i] - i`` of sorted distinct :obj:`keys`: the sorted array
    that :func:`complement_select` searches."""
    return keys - torch.arange(keys.numel(), device=keys.device)


def complement_select(shift: Tensor, rank: Tensor) -> Tensor:
    r"""The :obj:`rank`-th (0-based) non-negative integer that is *not* one
    of the sorted distinct keys whose :func:`complement_shift` is
    :obj:`shift`: :math:`t + \#\{i : k_i - i \le t\}`."""
    if shift.numel() == 0:
        return rank
    flat = rank.reshape(-1)
    return rank + torch.searchsorted(shift, flat, right=True).view(rank.shape)


def row_upper_bound(
    values: Tensor, lo: Tensor, hi: Tensor, target: Tensor, steps: int
) -> Tensor:
    r"""For every :obj:`i`, the first position :obj:`p` in
    ``[lo[i], hi[i])`` with ``values[p] > target[i]`` (:obj:`hi[i]` if none),
    where :obj:`values` is sorted within each such row and no row is longer
    than ``2 ** steps - 1``: a binary search of every row at once, over the
    row's own entries only. (:func:`torch.searchsorted` needs one sorted
    array, or rows of equal length; rows here are ragged slices of one.)"""
    lo, hi = lo.clone(), hi.clone()
    zero = torch.zeros_like(lo)
    for _ in range(steps):
        active = lo < hi
        mid = torch.where(active, (lo + hi) // 2, zero)
        right = active & (values[mid] <= target)
        lo = torch.where(right, mid + 1, lo)
        hi = torch.where(active & ~right, mid, hi)
    return lo


def positive_pairs(
    edge_index: Tensor,
    num_src_nodes: int,
    num_dst_nodes: Optional[int],
    *,
    undirected: bool = False,
    exclude_self: bool = False,
    extra_positives: Optional[Union[Tensor, Sequence[Tensor]]] = None,
) -> Tuple[Tensor, int, int]:
    r"""The checked arguments of :class:`PositiveIndex`: returns the
    ``[2, N]`` :obj:`long` pairs of :obj:`edge_index` and
    :obj:`extra_positives` (and their reverses with :obj:`undirected`; the
    self-loops of :obj:`exclude_self` are the caller's) and the numbers of
    source and destination nodes."""
    check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
    num_src_nodes = check_num_nodes(num_src_nodes, 'num_src_nodes')
    if num_dst_nodes is None:
        num_dst_nodes = num_src_nodes
    num_dst_nodes = check_num_nodes(num_dst_nodes, 'num_dst_nodes')
    check_bool(undirected, 'undirected')
    check_bool(exclude_self, 'exclude_self')
    if (undirected or exclude_self) and num_src_nodes != num_dst_nodes:
        which = 'undirected' if undirected else 'exclude_self'
        raise ValueError(
            f"'{which}=True' needs as many source as destination nodes "
            f'(got {num_src_nodes} and {num_dst_nodes})'
        )
    sizes = (num_src_nodes, num_dst_nodes)
    parts = [check_edge_index(edge_index, 'edge_index', *sizes)]
    if extra_positives is not None:
        extras = check_edge_list(extra_positives, 'extra_positives', *sizes)
        parts += [extra.to(edge_index.device) for extra in extras]
    pairs = torch.cat(parts, dim=1)
    if undirected:
        pairs = torch.cat([pairs, pairs.flip(0)], dim=1)
    return pairs, num_src_nodes, num_dst_nodes


class PositiveIndex(TensorStore):
    r"""An exact, batched index of the known positive pairs :math:`(u, v)` of
    one edge type, built once and kept on the data's device.

    The pairs are stored as sorted 64-bit keys :math:`u \cdot |V| + v`, which
    doubles as a CSR layout: the positives of source :math:`u` are one
    contiguous, sorted slice. Membership of a whole batch is one
    :func:`torch.searchsorted` call. A second key array,
    :math:`u \cdot (|V| + 1) + (v_i - i)` for the :math:`i`-th positive
    :math:`v_i` of :math:`u`, lets :meth:`sample_complement` draw a uniform
    non-positive destination for every source *exactly*, without rejection:
    the :math:`r`-th non-neighbour of :math:`u` is :math:`r + j`, where
    :math:`j` counts the positives with :math:`v_i - i \le r`.

    The second key costs 4 bytes when :math:`|U| (|V| + 1) < 2^{31}`. In a
    larger key space it holds :math:`v_i - i` alone (4 bytes while
    :math:`|V| < 2^{31}`), sorted within each source's row, and a draw
    binary-searches its own row (a few steps: as many as the bits of the
    largest degree) instead of the whole array.

    Memory is 12 bytes per positive, plus a row pointer (4 bytes per source
    node while the positives are fewer than :math:`2^{31}`) that turns
    every row lookup into a gather. The pointer is kept when the index stays
    within 16 bytes per positive (or the pointer within 1 MiB); otherwise
    row bounds come from a binary search on the keys, so the source space
    may be huge (e.g. relation x entity pairs of a knowledge graph).
    :obj:`row_pointer` overrides that choice; :attr:`nbytes` tells what is
    held.

    Methods without a suffix check their arguments; the ``*_unchecked``
    variants are for callers that validated once (see :meth:`check_src`)
    and must not synchronise with a GPU on every call.

    Args:
        edge_index (torch.Tensor): The known positives, shape ``[2, E]``
            (row 0: source, row 1: destination).
        num_src_nodes (int): Number of source nodes.
        num_dst_nodes (int, optional): Number of destination nodes; equal to
            :obj:`num_src_nodes` if not given (homogeneous graph).
            (default: :obj:`None`)
        undirected (bool, optional): Also treat every reversed pair
            :math:`(v, u)` as a positive. Needs a square index.
            (default: :obj:`False`)
        exclude_self (bool, optional): Treat every :math:`(u, u)` as a
            positive, so that a node is never its own negative. Needs a square
            index. (default: :obj:`False`)
        extra_positives (torch.Tensor or list of torch.Tensor, optional):
            Further known positives (e.g. validation and test edges) that no
            negative may hit, each of shape ``[2, *]``. (default: :obj:`None`)
        row_pointer (bool, optional): Keep the row pointer (:obj:`True`),
            drop it (:obj:`False`: binary search for row bounds, 12 bytes
            per positive whatever the graph), or choose by the memory rule
            above (:obj:`None`). (default: :obj:`None`)
    """

    def __init__(
        self,
        edge_index: Tensor,
        num_src_nodes: int,
        num_dst_nodes: Optional[int] = None,
        *,
        undirected: bool = False,
        exclude_self: bool = False,
        extra_positives: Optional[Union[Tensor, Sequence[Tensor]]] = None,
        row_pointer: Optional[bool] = None,
    ):
        if row_pointer is not None:
            check_bool(row_pointer, 'row_pointer')
        pairs, num_src_nodes, num_dst_nodes = positive_pairs(
            edge_index,
            num_src_nodes,
            num_dst_nodes,
            undirected=undirected,
            exclude_self=exclude_self,
            extra_positives=extra_positives,
        )
        check_key_space(num_src_nodes, num_dst_nodes, 'num_src_nodes')
        if exclude_self:
            loop = torch.arange(num_src_nodes, device=pairs.device)
            pairs = torch.cat([pairs, loop.view(1, -1).expand(2, -1)], dim=1)

        self.num_src_nodes = num_src_nodes
        self.num_dst_nodes = num_dst_nodes
        self.undirected = undirected
        self.exclude_self = exclude_self
        self.keys = torch.unique(pairs[0] * num_dst_nodes + pairs[1])
        num_edges = self.keys.numel()
        ptr_dtype = torch.int32 if num_edges < 2**31 else torch.long
        if row_pointer is None:
            # What the two keys (at most 12 bytes) leave of 16 per positive:
            row_bytes = (num_src_nodes + 1) * ptr_dtype.itemsize
            row_pointer = row_bytes <= max(4 * num_edges, 2**20)
        src = torch.div(self.keys, num_dst_nodes, rounding_mode='floor')
        self.rowptr: Optional[Tensor] = None
        if row_pointer:
            count = torch.bincount(src, minlength=num_src_nodes)
            self.rowptr = torch.zeros(
                num_src_nodes + 1, dtype=ptr_dtype, device=src.device
            )
            torch.cumsum(count, 0, out=self.rowptr[1:])
            del count
        rank = torch.arange(num_edges, device=src.device)
        rank -= self.row_bounds_unchecked(src)[0]
        #: 0: ``rank_keys`` is one sorted array, ``u (|V| + 1) + v_i - i``;
        #: otherwise it holds ``v_i - i`` per row, and this many binary
        #: search steps cover the longest row.
        self.rank_steps = 0
        if num_src_nodes * (num_dst_nodes + 1) < 2**31:
            self.rank_keys = (self.keys + src - rank).to(torch.int32)
        else:
            wide = num_dst_nodes >= 2**31
            self.rank_keys = (self.keys - src * num_dst_nodes - rank).to(
                torch.long if wide else torch.int32
            )
            if num_edges > 0:
                self.rank_steps = (int(rank.max()) + 1).bit_length()

    @classmethod
    def from_data(cls, data, edge_type=None, **kwargs) -> 'PositiveIndex':
        r"""Builds the index of a :class:`~torch_geometric.data.Data` (the
        graph is treated as homogeneous) or of one :obj:`edge_type` of a
        :class:`~torch_geometric.data.HeteroData` (any form PyG accepts,
        the ``(src, dst)`` shorthand included)."""
        from torch_geometric_negsamp._edge_types import edge_store

        _, store, num_src, num_dst = edge_store(data, edge_type)
        return cls(store.edge_index, num_src, num_dst, **kwargs)

    def state(self) -> dict:
        r"""The index as plain data (its tensors and sizes), for
        :meth:`from_state`: to save it, or to map it into shared memory."""
        return {
            'num_src_nodes': self.num_src_nodes,
            'num_dst_nodes': self.num_dst_nodes,
            'undirected': self.undirected,
            'exclude_self': self.exclude_self,
            'keys': self.keys,
            'rank_keys': self.rank_keys,
            'rank_steps': self.rank_steps,
            'rowptr': self.rowptr,
        }

    @classmethod
    def from_state(cls, state: dict) -> 'PositiveIndex':
        r"""The index :meth:`state` describes, holding its tensors as they
        are (no copy). The tensors are trusted: they must come from
        :meth:`state`."""
        out = cls.__new__(cls)
        out.num_src_nodes = check_num_nodes(
            state['num_src_nodes'], 'num_src_nodes'
        )
        out.num_dst_nodes = check_num_nodes(
            state['num_dst_nodes'], 'num_dst_nodes'
        )
        out.undirected = check_bool(state['undirected'], 'undirected')
        out.exclude_self = check_bool(state['exclude_self'], 'exclude_self')
        out.keys = check_index_tensor(state['keys'], 'keys', dim=1)
        out.rank_keys = check_index_tensor(
            state['rank_keys'], 'rank_keys', dim=1
        )
        out.rank_steps = check_int(
            state['rank_steps'], 'rank_steps', minimum=0
        )
        if out.rank_keys.numel() != out.keys.numel():
            raise ValueError(
                "'rank_keys' must have as many entries as 'keys' (got "
                f'{out.rank_keys.numel()} and {out.keys.numel()})'
            )
        rowptr = state['rowptr']
        if rowptr is not None:
            check_index_tensor(rowptr, 'rowptr', dim=1)
            if rowptr.numel() != out.num_src_nodes + 1:
                raise ValueError(
                    f"'rowptr' must have {out.num_src_nodes + 1} entries "
                    f'(got {rowptr.numel()})'
                )
        out.rowptr = rowptr
        return out

    # ------------------------------------------------------------ queries
    @property
    def num_edges(self) -> int:
        r"""Number of distinct positive pairs held."""
        return self.keys.numel()

    @property
    def device(self) -> torch.device:
        return self.keys.device

    #: The attributes that hold the index's tensors (``rowptr`` may be
    #: :obj:`None`); :attr:`nbytes`, :meth:`to` and :meth:`share_memory_`
    #: come from :class:`~torch_geometric_negsamp._tensor_store.TensorStore`.
    _TENSORS = ('keys', 'rank_keys', 'rowptr')

    def check_src(self, src, name: str = 'src') -> Tensor:
        r"""Checks that :obj:`src` holds source ids of this index (integer
        dtype, same device, in range) and returns it as :obj:`long`."""
        return self._check_ids(src, name, self.num_src_nodes)

    def check_dst(self, dst, name: str = 'dst') -> Tensor:
        r"""As :meth:`check_src`, for destination ids."""
        return self._check_ids(dst, name, self.num_dst_nodes)

    def _check_ids(self, ids, name: str, size: int) -> Tensor:
        check_index_tensor(ids, name)
        check_same_device(ids, name, self.device, 'the index of positives')
        check_in_range(ids, name, size)
        return ids.long()

    def row_bounds_unchecked(self, src: Tensor) -> Tuple[Tensor, Tensor]:
        r"""``(start, end)``: the positives of :obj:`src[i]` are
        ``keys[start[i]:end[i]]``."""
        if self.rowptr is not None:
            return self.rowptr[src].long(), self.rowptr[src + 1].long()
        start = torch.searchsorted(self.keys, src * self.num_dst_nodes)
        end = torch.searchsorted(self.keys, (src + 1) * self.num_dst_nodes)
        return start, end

    def contains(self, src: Tensor, dst: Tensor) -> Tensor:
        r"""Returns a boolean tensor, :obj:`True` where :math:`(src_i, dst_i)`
        is a known positive. :obj:`src` and :obj:`dst` broadcast.

        Args:
            src (torch.Tensor): Source nodes.
            dst (torch.Tensor): Destination nodes.
        """
        return self.contains_unchecked(
            self.check_src(src), self.check_dst(dst)
        )

    def contains_unchecked(self, src: Tensor, dst: Tensor) -> Tensor:
        r""":meth:`contains` for ids known to be in range (``long``)."""
        return sorted_contains(self.keys, src * self.num_dst_nodes + dst)

    def degree(self, src: Optional[Tensor] = None) -> Tensor:
        r"""Returns the number of positives of every node in :obj:`src` (of
        every source node if :obj:`src` is :obj:`None`)."""
        if src is None:
            src_all = torch.div(
                self.keys, self.num_dst_nodes, rounding_mode='floor'
            )
            return torch.bincount(src_all, minlength=self.num_src_nodes)
        start, end = self.row_bounds_unchecked(self.check_src(src))
        return end - start

    def num_candidates(self, src: Optional[Tensor] = None) -> Tensor:
        r"""Returns, for every node in :obj:`src` (every source node if
        :obj:`None`), how many destinations are *not* known positives of
        it."""
        return self.num_dst_nodes - self.degree(src)

    def edges(self) -> Tuple[Tensor, Tensor]:
        r"""All positives held, as ``(src, dst)`` sorted by source, then
        destination."""
        src = torch.div(self.keys, self.num_dst_nodes, rounding_mode='floor')
        return src, self.keys - src * self.num_dst_nodes

    def neighbors(self, src: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Returns the positives of the nodes in :obj:`src` as a pair
        ``(batch, dst)``: :obj:`dst[j]` is a positive of :obj:`src[batch[j]]`;
        destinations of one source are sorted."""
        return self.neighbors_unchecked(self.check_src(src).view(-1))

    def neighbors_unchecked(self, src: Tensor) -> Tuple[Tensor, Tensor]:
        start, end = self.row_bounds_unchecked(src)
        count = end - start
        batch = torch.repeat_interleave(
            torch.arange(src.numel(), device=self.device), count
        )
        offset = torch.arange(batch.numel(), device=self.device)
        offset = offset - torch.repeat_interleave(
            count.cumsum(0) - count, count
        )
        dst = (
            self.keys[start[batch] + offset] - src[batch] * self.num_dst_nodes
        )
        return batch, dst

    # ---------------------------------------------------- complement ranks
    def complement_select_unchecked(
        self, src: Tensor, rank: Tensor, start: Optional[Tensor] = None
    ) -> Tensor:
        r"""The :obj:`rank[i]`-th (0-based) destination that is *not* a
        positive of :obj:`src[i]` (``0 <= rank < num_candidates(src)``);
        :obj:`start` may pass the row starts when known (the flat mode uses
        them; the row-local mode looks up both row bounds itself)."""
        if self.keys.numel() == 0:
            return rank
        if self.rank_steps > 0:
            # Each source's own row of 'v_i - i', searched row by row:
            src, rank = torch.broadcast_tensors(src, rank)
            start, end = self.row_bounds_unchecked(src)
            j = row_upper_bound(
                self.rank_keys, start, end, rank, self.rank_steps
            )
            return rank + (j - start)
        if start is None:
            start = self.row_bounds_unchecked(src)[0]
        query = src * (self.num_dst_nodes + 1) + rank
        shape = query.shape
        # The query is below |U| (|V| + 1) < 2**31: the keys' dtype.
        query = query.reshape(-1).to(self.rank_keys.dtype)
        j = torch.searchsorted(self.rank_keys, query, right=True)
        return rank + (j.view(shape) - start)

    def complement_rank_unchecked(self, src: Tensor, dst: Tensor) -> Tensor:
        r"""The inverse of :meth:`complement_select_unchecked`: the rank of
        the non-positive :obj:`dst` among the non-positives of :obj:`src`
        (the number of them below it)."""
        start = self.row_bounds_unchecked(src)[0]
        below = torch.searchsorted(
            self.keys, (src * self.num_dst_nodes + dst).reshape(-1)
        ).view(dst.shape)
        return dst - (below - start)

    def sample_complement(
        self,
        src: Tensor,
        generator: Optional[torch.Generator] = None,
    ) -> Tensor:
        r"""Draws, for every node in :obj:`src`, one destination uniformly
        among those that are not its known positives. Exact and rejection
        free: one :func:`torch.searchsorted` per draw.

        Args:
            src (torch.Tensor): Source nodes, any shape; the output has the
                same shape.
            generator (torch.Generator, optional): The random generator.
                (default: :obj:`None`)

        Raises:
            ValueError: If a node in :obj:`src` is a positive of every
                destination.
        """
        src = self.check_src(src)
        start, end = self.row_bounds_unchecked(src)
        count = self.num_dst_nodes - (end - start)
        if count.numel() > 0 and bool((count <= 0).any()):
            bad = int(src[count <= 0].view(-1)[0])
            raise ValueError(
                f"node {bad} in 'src' is a known positive of all "
                f'{self.num_dst_nodes} destination nodes; no negative exists'
            )
        return self.complement_select_unchecked(
            src, randint_below(count, generator), start
        )

    def sample_complement_unchecked(
        self, src: Tensor, generator: Optional[torch.Generator] = None
    ) -> Tensor:
        r""":meth:`sample_complement` for sources known to be valid and to
        have at least one non-positive (no host synchronisation)."""
        start, end = self.row_bounds_unchecked(src)
        count = self.num_dst_nodes - (end - start)
        return self.complement_select_unchecked(
            src, randint_below(count, generator), start
        )

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_edges={self.num_edges}, '
            f'num_src_nodes={self.num_src_nodes}, '
            f'num_dst_nodes={self.num_dst_nodes}, '
            f'undirected={self.undirected}, '
            f'exclude_self={self.exclude_self}, device={self.device})'
        )
