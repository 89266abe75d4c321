r"""Drop-in replacements for the negative sampling functions of
:mod:`torch_geometric.utils`.

:func:`negative_sampling`, :func:`batched_negative_sampling`,
:func:`structured_negative_sampling` and
:func:`structured_negative_sampling_feasible` take the same arguments, use the
same defaults and return the same formats as their PyG 2.8 namesakes, so
that

.. code-block:: python

    from torch_geometric_negsamp.functional import negative_sampling

replaces ``from torch_geometric.utils import negative_sampling``. What
changes is what they promise:

* **exact**: no returned pair is a positive edge (nor a self-loop where PyG
  excludes them), and :obj:`force_undirected` is honoured;
* **the count asked for**: PyG gives up after three rounds of rejection and
  may return fewer negatives than asked; these functions return exactly
  :obj:`num_neg_samples` distinct pairs, and when fewer non-edges exist than
  asked for they return all of them and warn;
* **bounded**: a node connected to every node makes
  :func:`torch_geometric.utils.structured_negative_sampling` loop forever;
  here it raises a :class:`ValueError` naming the node;
* **fast**: sampling is vectorised (rejection of positives and duplicates for
  a bounded number of rounds, then an exact draw over the complement), and a
  prebuilt :class:`~torch_geometric_negsamp.PositiveIndex` can be passed as
  :obj:`index=` to reuse it across calls;
* **reproducible**: every random choice goes through :obj:`generator`.

Each also accepts bipartite graphs via :obj:`num_nodes=(num_src, num_dst)`,
and :func:`structured_negative_sampling` draws several negatives per positive
with :obj:`num_neg_samples`.
"""

import math
import numbers
import warnings
from typing import Callable, List, Optional, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp._validate import (
    check_in_range,
    check_index_tensor,
)
from torch_geometric_negsamp.index import PositiveIndex

__all__ = [
    'negative_sampling',
    'batched_negative_sampling',
    'structured_negative_sampling',
    'structured_negative_sampling_feasible',
]

NumNodes = Optional[Union[int, Tuple[int, int]]]

# Rounds of rejection (of positives and duplicates) before the exact draw
# over the complement takes over. Each round is sized so that it succeeds
# with high probability; the exact draw makes the bound safe.
_MAX_ROUNDS = 4

_BIPARTITE, _DIRECTED, _UNDIRECTED = 'bipartite', 'directed', 'undirected'


# ----------------------------------------------------------------- checks
def _check_nonneg_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"'{name}' must be an int (got {type(value).__name__}: {value!r})"
        )
    value = int(value)
    if value < 0:
        raise ValueError(f"'{name}' must be non-negative (got {value})")
    return value


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(
            f"'{name}' must be a bool (got {type(value).__name__}: {value!r})"
        )
    return value


def _check_common(method: str, generator, index) -> None:
    if method not in ('sparse', 'dense'):
        raise ValueError(
            f"'method' must be 'sparse' or 'dense' (got {method!r})"
        )
    _check_generator(generator)
    if index is not None and not isinstance(index, PositiveIndex):
        raise TypeError(
            f"'index' must be a PositiveIndex (got {type(index).__name__})"
        )


def _check_generator(generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"'generator' must be a torch.Generator (got "
            f'{type(generator).__name__})'
        )


def _check_num_neg(value) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(
        value, (numbers.Integral, float)
    ):
        raise TypeError(
            f"'num_neg_samples' must be None, an int or a float "
            f'ratio (got {type(value).__name__}: {value!r})'
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"'num_neg_samples' must be finite (got {value})")
    if value < 0:
        raise ValueError(
            f"'num_neg_samples' must be non-negative (got {value})"
        )


def _num_requested(value, num_edges: int) -> int:
    r"""PyG's rule: :obj:`None` means one per edge, a float is a ratio of the
    number of edges (truncated), an int is the count."""
    if value is None:
        return num_edges
    if isinstance(value, float):
        return int(value * num_edges)
    return int(value)


def _resolve_sizes(
    edge_index: Tensor,
    num_nodes: NumNodes,
    index: Optional[PositiveIndex],
) -> Tuple[int, int, bool]:
    r"""Returns ``(num_src, num_dst, bipartite)`` and checks that
    :obj:`edge_index` fits (unless a prebuilt :obj:`index` vouches for it)."""
    if num_nodes is None:
        if index is not None:
            num_src, num_dst = index.num_src_nodes, index.num_dst_nodes
            return num_src, num_dst, num_src != num_dst
        # As torch_geometric.utils.num_nodes.maybe_num_nodes:
        num = int(edge_index.max()) + 1 if edge_index.numel() > 0 else 0
        return num, num, False
    if isinstance(num_nodes, (tuple, list)):
        if len(num_nodes) != 2:
            raise ValueError(
                f"'num_nodes' must be an int or a pair "
                f'(num_src_nodes, num_dst_nodes) (got '
                f'{num_nodes!r})'
            )
        num_src = _check_nonneg_int(num_nodes[0], 'num_nodes[0]')
        num_dst = _check_nonneg_int(num_nodes[1], 'num_nodes[1]')
        bipartite = True
    elif isinstance(num_nodes, bool) or not isinstance(
        num_nodes, numbers.Integral
    ):
        raise TypeError(
            f"'num_nodes' must be None, an int or a pair of "
            f'ints (got {type(num_nodes).__name__}: '
            f'{num_nodes!r})'
        )
    else:
        num_src = num_dst = _check_nonneg_int(num_nodes, 'num_nodes')
        bipartite = False
    if num_src * (num_dst + 1) >= 2**62:
        raise ValueError(
            f"'num_nodes' is too large for 64-bit pair keys "
            f'(got {num_src} x {num_dst})'
        )
    if index is not None:
        if (index.num_src_nodes, index.num_dst_nodes) != (num_src, num_dst):
            raise ValueError(
                f"'index' was built for {index.num_src_nodes} x "
                f"{index.num_dst_nodes} nodes but 'num_nodes' gives "
                f'{num_src} x {num_dst}'
            )
    else:
        check_in_range(edge_index[0], 'edge_index[0]', num_src)
        check_in_range(edge_index[1], 'edge_index[1]', num_dst)
    return num_src, num_dst, bipartite


def _check_index_device(index: PositiveIndex, edge_index: Tensor) -> None:
    if index.device != edge_index.device:
        raise ValueError(
            f"'index' is on {index.device} but 'edge_index' is "
            f'on {edge_index.device}; move one of them'
        )


def _check_index_kind(index: PositiveIndex, kind: str) -> None:
    r"""The index's positive set must match the pairs the call may return:
    loops counted as positives exactly where PyG excludes them, and
    symmetric positives when pairs are unordered."""
    if kind == _BIPARTITE:
        if index.exclude_self or index.undirected:
            raise ValueError(
                "a bipartite 'num_nodes' needs an 'index' built with "
                'exclude_self=False and undirected=False (got '
                f'{index!r})'
            )
        return
    if not index.exclude_self:
        raise ValueError(
            "a homogeneous graph needs an 'index' built with "
            'exclude_self=True, as no self-loop may be returned (got '
            f'{index!r})'
        )
    if kind == _UNDIRECTED and not index.undirected:
        raise ValueError(
            "'force_undirected=True' needs an 'index' built with "
            f'undirected=True (got {index!r})'
        )


def _warn_short(
    func: str, requested: int, available: int, where: str = ''
) -> None:
    warnings.warn(
        f"'{func}' was asked for {requested} negative pair(s){where} but "
        f'only {available} non-edge(s) exist; returning all {available}',
        UserWarning,
        stacklevel=3,
    )


# ------------------------------------------------------- random helpers
def _draw(make, device, generator) -> Tensor:
    r"""Runs :obj:`make(device=..., generator=...)` where the generator lives
    and moves the result to :obj:`device`, so that one CPU generator can
    drive data on any device reproducibly."""
    device = torch.device(device)
    if generator is None or generator.device.type == device.type:
        return make(device=device, generator=generator)
    return make(device=generator.device, generator=generator).to(device)


def _randint(high: int, num: int, device, generator) -> Tensor:
    r""":obj:`num` integers uniform in ``[0, high)``."""
    return _draw(
        lambda **kw: torch.randint(high, (num,), dtype=torch.long, **kw),
        device,
        generator,
    )


def _randint_below(high: Tensor, generator) -> Tensor:
    r"""One integer uniform in ``[0, high_i)`` per entry, for any
    :obj:`high` below 2**62 (a float64 draw alone is exact up to 2**53)."""
    if high.numel() == 0 or int(high.max()) <= 2**53:
        return randint_below(high, generator)
    out = randint_below(high.clamp(max=2**53), generator)
    todo = (high > 2**53).nonzero().view(-1)
    # Two 31-bit halves make a uniform 62-bit integer; draws at or above
    # 'high' (probability below 2**-22 each) are redrawn, and after three
    # rounds the (2**-66 likely) remainder is reduced modulo 'high'.
    for attempt in range(4):
        h = high[todo]
        half = torch.full_like(h, 2**31)
        x = randint_below(half, generator) * 2**31 + randint_below(
            half, generator
        )
        ok = x < h if attempt < 3 else torch.ones_like(h, dtype=torch.bool)
        out[todo[ok]] = x[ok] % h[ok]
        todo = todo[~ok]
        if todo.numel() == 0:
            break
    return out


def _random_order(num: int, device, generator) -> Tensor:
    r"""A uniformly random permutation of ``range(num)``."""
    return _draw(lambda **kw: torch.randperm(num, **kw), device, generator)


def _group_random(
    seg: Tensor, num_seg: int, generator
) -> Tuple[Tensor, Tensor]:
    r"""Returns a permutation that groups :obj:`seg` by segment (ascending)
    in uniformly random order within each segment, and the position of each
    permuted element inside its segment."""
    order = _random_order(seg.numel(), seg.device, generator)
    order = order[torch.sort(seg[order], stable=True).indices]
    count = torch.bincount(seg, minlength=num_seg)
    start = torch.cumsum(count, 0) - count
    pos = torch.arange(seg.numel(), device=seg.device) - start[seg[order]]
    return order, pos


def _sorted_isin(sorted_values: Tensor, query: Tensor) -> Tensor:
    if sorted_values.numel() == 0:
        return torch.zeros(query.shape, dtype=torch.bool, device=query.device)
    pos = torch.searchsorted(sorted_values, query)
    pos = pos.clamp_(max=sorted_values.numel() - 1)
    return sorted_values[pos] == query


# ------------------------------------------------------------- key spaces
def _tri_size(num: Tensor) -> Tensor:
    return num * (num - 1) // 2


def _tri_encode(a: Tensor, b: Tensor, num) -> Tensor:
    r"""Key of the unordered pair :math:`a < b` among :obj:`num` nodes, rows
    of the strict upper triangle laid end to end (as PyG's vector layout)."""
    return a * (2 * num - a - 1) // 2 + (b - a - 1)


class _Space:
    r"""The candidate pairs of :math:`G` graphs laid end to end as one range
    of integer keys: graph :math:`g` owns ``[off[g], end[g])``.

    * bipartite / directed: key ``u * D + v`` (local ids), every ordered
      pair, loops included (the directed space forbids them explicitly);
    * undirected: pairs :math:`u < v`, rows of the upper triangle.
    """

    def __init__(
        self,
        kind: str,
        num_src: Tensor,
        num_dst: Tensor,
        src_ptr: Tensor,
        dst_ptr: Tensor,
    ):
        self.kind = kind
        self.num_src, self.num_dst = num_src, num_dst
        self.src_ptr, self.dst_ptr = src_ptr, dst_ptr
        if kind == _UNDIRECTED:
            self.size = _tri_size(num_src)
        else:
            self.size = num_src * num_dst
        self.end = torch.cumsum(self.size, 0)
        self.off = self.end - self.size

    @classmethod
    def single(cls, kind: str, num_src: int, num_dst: int, device) -> '_Space':
        def one(v):
            return torch.tensor([v], dtype=torch.long, device=device)

        return cls(kind, one(num_src), one(num_dst), one(0), one(0))

    def encode(
        self, row: Tensor, col: Tensor, graph: Tensor
    ) -> Tuple[Tensor, Tensor]:
        r"""Keys of the pairs ``(row, col)`` (global node ids) of graphs
        :obj:`graph`, and the mask of pairs that lie in the space (an
        undirected space has no loops)."""
        row, col = row.long(), col.long()
        if self.kind == _UNDIRECTED:
            a, b = torch.minimum(row, col), torch.maximum(row, col)
            ptr = self.src_ptr[graph]
            key = self.off[graph] + _tri_encode(
                a - ptr, b - ptr, self.num_src[graph]
            )
            return key, a != b
        key = (
            self.off[graph]
            + (row - self.src_ptr[graph]) * self.num_dst[graph]
            + (col - self.dst_ptr[graph])
        )
        return key, torch.ones_like(key, dtype=torch.bool)

    def loops(self) -> Tensor:
        r"""Keys of every self-loop (directed space only)."""
        graph = torch.repeat_interleave(
            torch.arange(self.num_src.numel(), device=self.off.device),
            self.num_src,
        )
        node = torch.arange(graph.numel(), device=graph.device)
        return self.encode(node, node, graph)[0]

    def decode(self, key: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Global ``(row, col)`` node ids of :obj:`key`."""
        if self.kind == _UNDIRECTED:
            num = self.num_src
            graph = torch.repeat_interleave(
                torch.arange(num.numel(), device=key.device), num
            )
            local = (
                torch.arange(graph.numel(), device=key.device)
                - self.src_ptr[graph]
            )
            # Start key of every node's row; rows of a graph's last node are
            # empty and tie with the next row, which the right-most search
            # skips over:
            start = self.off[graph] + _tri_encode(local, local + 1, num[graph])
            row = torch.searchsorted(start, key, right=True) - 1
            col = row + 1 + (key - start[row])
            return row, col
        graph = torch.searchsorted(self.end, key, right=True)
        local = key - self.off[graph]
        num_dst = self.num_dst[graph]
        row = torch.div(local, num_dst, rounding_mode='floor')
        col = local - row * num_dst
        return row + self.src_ptr[graph], col + self.dst_ptr[graph]


# ------------------------------------------------------------ exact draw
def _distinct_ranks(avail: Tensor, num: Tensor, generator) -> Tensor:
    r"""Draws, for every segment :math:`g`, :obj:`num[g]` distinct ranks
    uniformly from ``[0, avail[g])`` (:obj:`num <= avail`), as global ranks
    (offset by the sizes of the segments before), grouped by segment in
    random order.

    Segments asking for at least a quarter of their range enumerate it and
    keep a random subset; the others draw with replacement and drop
    duplicates for :data:`_MAX_ROUNDS` rounds (each draw is new with
    probability above 3/4), then draw what is left one rank per segment at a
    time, each exactly uniform over the ranks not yet taken.
    """
    device = avail.device
    num_seg = avail.numel()
    end = torch.cumsum(avail, 0)
    off = end - avail
    seg_ids = torch.arange(num_seg, device=device)
    parts: List[Tensor] = []

    dense = (4 * num >= avail) & (num > 0)
    dense_avail = torch.where(dense, avail, torch.zeros_like(avail))
    total = int(dense_avail.sum())
    if total > 0:
        seg = torch.repeat_interleave(seg_ids, dense_avail)
        start = torch.cumsum(dense_avail, 0) - dense_avail
        rank = off[seg] + torch.arange(total, device=device) - start[seg]
        order, pos = _group_random(seg, num_seg, generator)
        keep = pos < num[seg[order]]
        parts.append(rank[order][keep])

    need = torch.where(dense, torch.zeros_like(num), num)
    have = torch.empty(0, dtype=torch.long, device=device)  # sorted
    for _ in range(_MAX_ROUNDS):
        if int(need.sum()) == 0:
            break
        size = (need.double() * 1.5).ceil().long() + 8
        size = torch.where(need > 0, size, torch.zeros_like(size))
        seg = torch.repeat_interleave(seg_ids, size)
        rank = torch.unique(off[seg] + _randint_below(avail[seg], generator))
        rank = rank[~_sorted_isin(have, rank)]
        seg = torch.searchsorted(end, rank, right=True)
        order, pos = _group_random(seg, num_seg, generator)
        new = rank[order][pos < need[seg[order]]]
        have = torch.sort(torch.cat([have, new])).values
        need = need - torch.bincount(
            torch.searchsorted(end, new, right=True), minlength=num_seg
        )
    for _ in range(int(need.max()) if num_seg > 0 else 0):
        short = (need > 0).nonzero().view(-1)
        if short.numel() == 0:
            break
        taken = torch.bincount(
            torch.searchsorted(end, have, right=True), minlength=num_seg
        )
        before = torch.cumsum(taken, 0) - taken
        # The t-th rank not in 'have' is t + #{i : have[i] - i <= t}:
        t = (
            off[short]
            - before[short]
            + _randint_below(avail[short] - taken[short], generator)
        )
        shift = have - torch.arange(have.numel(), device=device)
        new = t + torch.searchsorted(shift, t, right=True)
        have = torch.sort(torch.cat([have, new])).values
        need[short] -= 1
    if have.numel() > 0:
        parts.append(have)

    rank = torch.cat(parts) if parts else have
    seg = torch.searchsorted(end, rank, right=True)
    order, _ = _group_random(seg, num_seg, generator)
    return rank[order]


def _rank_to_key(forbidden: Tensor, rank: Tensor) -> Tensor:
    r"""Maps free rank :math:`t` to the :math:`t`-th key that is not in the
    sorted :obj:`forbidden` keys: :math:`t + \#\{i : f_i - i \le t\}`."""
    if forbidden.numel() == 0:
        return rank
    shift = forbidden - torch.arange(
        forbidden.numel(), device=forbidden.device
    )
    return rank + torch.searchsorted(shift, rank, right=True)


def _exact_keys(
    space: _Space, forbidden: Tensor, num: Tensor, generator
) -> Tuple[Tensor, Tensor]:
    r"""Exact draw: :obj:`num[g]` distinct keys per graph, uniform among the
    keys not in the sorted :obj:`forbidden`. Returns the keys (grouped by
    graph) and the number drawn per graph (``num`` capped at what
    exists)."""
    taken = torch.searchsorted(forbidden, space.end) - torch.searchsorted(
        forbidden, space.off
    )
    avail = space.size - taken
    num = torch.minimum(num, avail)
    rank = _distinct_ranks(avail, num, generator)
    return _rank_to_key(forbidden, rank), num


# ------------------------------------------------------- rejection draw
def _reject_keys(
    kind: str,
    num_src: int,
    num_dst: int,
    num: int,
    accept: float,
    is_bad: Callable[[Tensor], Tensor],
    device,
    generator,
) -> Optional[Tensor]:
    r"""Draws :obj:`num` distinct keys of one graph uniformly among the
    valid ones by rejection: pairs are drawn with replacement, positives
    (:obj:`is_bad`) and duplicates dropped, for at most :data:`_MAX_ROUNDS`
    rounds. :obj:`accept` is a lower bound on the fraction of the space that
    is valid. Returns :obj:`None` if still short (the caller then draws
    exactly). The result is a uniformly random :obj:`num`-subset in random
    order: every step treats the valid keys symmetrically."""
    have = torch.empty(0, dtype=torch.long, device=device)  # sorted
    for _ in range(_MAX_ROUNDS):
        need = num - have.numel()
        if need == 0:
            break
        size = need / accept
        size = int(1.1 * size + 4 * math.sqrt(size)) + 16
        row = _randint(num_src, size, device, generator)
        col = _randint(num_dst, size, device, generator)
        if kind == _UNDIRECTED:
            a, b = torch.minimum(row, col), torch.maximum(row, col)
            ok = a != b
            key = _tri_encode(a[ok], b[ok], num_src)
        else:
            key = row * num_dst + col
        key = torch.unique(key)
        key = key[~is_bad(key)]
        key = key[~_sorted_isin(have, key)]
        if key.numel() > need:
            key = key[_random_order(key.numel(), device, generator)[:need]]
        have = torch.sort(torch.cat([have, key])).values
    if have.numel() < num:
        return None
    return have[_random_order(num, device, generator)]


def _decode_single(
    kind: str, key: Tensor, num_src: int, num_dst: int
) -> Tuple[Tensor, Tensor]:
    if kind == _UNDIRECTED:
        return _Space.single(kind, num_src, num_dst, key.device).decode(key)
    row = torch.div(key, num_dst, rounding_mode='floor')
    return row, key - row * num_dst


def _index_is_bad(
    kind: str, index: PositiveIndex, num_src: int, num_dst: int
) -> Callable[[Tensor], Tensor]:
    def is_bad(key: Tensor) -> Tensor:
        row, col = _decode_single(kind, key, num_src, num_dst)
        return index.contains_unchecked(
            row, col
        )  # loops are keys of the index

    return is_bad


def _scan_is_bad(
    kind: str, edge_index: Tensor, num_src: int, num_dst: int
) -> Callable[[Tensor], Tensor]:
    r"""Membership of a few sorted candidate keys among the edges without
    sorting the edges: one pass of two table lookups keeps the edges whose
    endpoints are both among the candidates' endpoints, and only those are
    matched exactly."""

    def is_bad(key: Tensor) -> Tensor:
        row, col = _decode_single(kind, key, num_src, num_dst)
        if kind == _UNDIRECTED:
            seen = torch.zeros(num_src, dtype=torch.bool, device=key.device)
            seen[row] = True
            seen[col] = True
            seen_src = seen_dst = seen
        else:
            seen_src = torch.zeros(
                num_src, dtype=torch.bool, device=key.device
            )
            seen_src[row] = True
            seen_dst = torch.zeros(
                num_dst, dtype=torch.bool, device=key.device
            )
            seen_dst[col] = True
        mask = seen_src.index_select(0, edge_index[0])
        mask &= seen_dst.index_select(0, edge_index[1])
        sel = mask.nonzero().view(-1)
        e_row, e_col = edge_index[0, sel].long(), edge_index[1, sel].long()
        if kind == _UNDIRECTED:
            a, b = torch.minimum(e_row, e_col), torch.maximum(e_row, e_col)
            ok = a != b
            e_key = _tri_encode(a[ok], b[ok], num_src)
        else:
            e_key = e_row * num_dst + e_col
        bad = torch.zeros(key.numel(), dtype=torch.bool, device=key.device)
        if e_key.numel() > 0:
            pos = torch.searchsorted(key, e_key).clamp_(max=key.numel() - 1)
            bad[pos[key[pos] == e_key]] = True
        if kind == _DIRECTED:
            bad |= row == col
        return bad

    return is_bad


def _forbidden_from_index(kind: str, index: PositiveIndex) -> Tensor:
    if kind != _UNDIRECTED:
        return index.keys  # loops included when exclude_self=True
    num = index.num_src_nodes
    row = torch.div(index.keys, num, rounding_mode='floor')
    col = index.keys - row * num
    upper = row < col
    return _tri_encode(row[upper], col[upper], num)  # still sorted


def _forbidden_from_edges(
    space: _Space, edge_index: Tensor, graph: Tensor
) -> Tensor:
    key, ok = space.encode(edge_index[0], edge_index[1], graph)
    key = key[ok]
    if space.kind == _DIRECTED:
        key = torch.cat([key, space.loops()])
    return torch.unique(key)


def _layout(kind: str, row: Tensor, col: Tensor, num: Tensor) -> Tensor:
    r"""PyG's output layout: ``[2, N]``, and for unordered pairs each graph's
    block holds its pairs :math:`(u, v)` followed by their reverses."""
    if kind != _UNDIRECTED:
        return torch.stack([row, col], dim=0)
    seg = torch.repeat_interleave(
        torch.arange(num.numel(), device=row.device), num
    )
    start = torch.cumsum(num, 0) - num
    pos = torch.arange(row.numel(), device=row.device) - start[seg]
    fwd = 2 * start[seg] + pos
    rev = fwd + num[seg]
    out = row.new_empty((2, 2 * row.numel()))
    out[0, fwd], out[1, fwd] = row, col
    out[0, rev], out[1, rev] = col, row
    return out


# ---------------------------------------------------------------- public
def negative_sampling(
    edge_index: Tensor,
    num_nodes: NumNodes = None,
    num_neg_samples: Optional[Union[int, float]] = None,
    method: str = 'sparse',
    force_undirected: bool = False,
    *,
    generator: Optional[torch.Generator] = None,
    index: Optional[PositiveIndex] = None,
) -> Tensor:
    r"""Samples random negative edges of a graph given by
    :obj:`edge_index`: a drop-in for
    :func:`torch_geometric.utils.negative_sampling` that is exact, returns
    the count asked for, and can reuse a prebuilt index.

    The result is a uniformly random set of distinct pairs that are not
    edges, in random order: ordered pairs :math:`(u, v)`, :math:`u \ne v`, of
    a homogeneous graph; pairs of a bipartite graph; unordered pairs
    :math:`\{u, v\}` with :obj:`force_undirected=True` (neither direction an
    edge). Sparse requests are drawn by rejection of positives and duplicates
    in at most a few vectorised rounds (without an index, the edge list is
    scanned once per round and never sorted); dense requests, and the rare
    draw still short after those rounds, are drawn exactly over the
    complement of the edges.

    Args:
        edge_index (torch.Tensor): The edge indices, shape ``[2, E]``.
        num_nodes (int or Tuple[int, int], optional): The number of nodes;
            a pair :obj:`(num_src_nodes, num_dst_nodes)` makes the graph
            bipartite. If :obj:`None`, :obj:`max_val + 1` of
            :obj:`edge_index` (or the sizes of :obj:`index`).
            (default: :obj:`None`)
        num_neg_samples (int or float, optional): The number of negative
            pairs; a float is a ratio of :math:`E`; :obj:`None` means
            :math:`E`. If more are asked for than non-edges exist, all of
            them are returned with a warning. (default: :obj:`None`)
        method (str, optional): :obj:`"sparse"` or :obj:`"dense"`, accepted
            for compatibility; the strategy is chosen from the graph's
            density and both give the same distribution.
            (default: :obj:`"sparse"`)
        force_undirected (bool, optional): Sample unordered pairs and return
            each in both directions, as PyG does (:obj:`num_neg_samples` is
            halved, rounding down). Ignored for bipartite graphs.
            (default: :obj:`False`)
        generator (torch.Generator, optional): The random generator (may live
            on another device than the data). (default: :obj:`None`)
        index (PositiveIndex, optional): A prebuilt index of the positives,
            reused instead of :obj:`edge_index` (which then only sets the
            default count): build it once with
            ``PositiveIndex(edge_index, N, exclude_self=True,
            undirected=force_undirected)``, or
            ``PositiveIndex(edge_index, num_src, num_dst)`` for a bipartite
            graph. It may hold further positives to avoid (its
            :obj:`extra_positives`). (default: :obj:`None`)

    Returns:
        torch.Tensor: The negative pairs, shape ``[2, num_neg_samples]`` (with
        :obj:`force_undirected`, ``[2, 2 * (num_neg_samples // 2)]``: the pairs
        followed by their reverses), dtype and device of :obj:`edge_index`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If :obj:`edge_index` is not ``[2, E]``, holds an id out of
            range, or :obj:`index` does not match the call.

    Example:
        >>> edge_index = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
        >>> negative_sampling(edge_index, num_neg_samples=3,
        ...                   generator=torch.Generator().manual_seed(0))
        tensor([[0, 1, 3],
                [2, 0, 2]])
    """
    check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
    _check_num_neg(num_neg_samples)
    _check_common(method, generator, index)
    _check_bool(force_undirected, 'force_undirected')
    num_src, num_dst, bipartite = _resolve_sizes(edge_index, num_nodes, index)
    kind = (
        _BIPARTITE
        if bipartite
        else (_UNDIRECTED if force_undirected else _DIRECTED)
    )
    if index is not None:
        _check_index_device(index, edge_index)
        _check_index_kind(index, kind)
    num = _num_requested(num_neg_samples, edge_index.size(1))
    if kind == _UNDIRECTED:
        num //= 2
    device = edge_index.device
    empty = edge_index.new_empty((2, 0))
    if num == 0:
        return empty
    size = (
        num_src * (num_src - 1) // 2
        if kind == _UNDIRECTED
        else num_src * num_dst
    )

    key: Optional[Tensor] = None
    forbidden: Optional[Tensor] = None
    if index is not None:
        if kind == _UNDIRECTED:
            avail = size - (index.num_edges - num_src) // 2
        else:
            avail = size - index.num_edges
        if num > avail:
            _warn_short('negative_sampling', num, avail)
            num = avail
        if num == 0:
            return empty
        if 4 * num <= avail and 4 * avail >= size:
            key = _reject_keys(
                kind,
                num_src,
                num_dst,
                num,
                (avail - num) / size,
                _index_is_bad(kind, index, num_src, num_dst),
                device,
                generator,
            )
        if key is None:
            forbidden = _forbidden_from_index(kind, index)
    else:
        # Each edge rules out at most one pair (plus the loops):
        bound = (
            size - edge_index.size(1) - (num_src if kind == _DIRECTED else 0)
        )
        if 4 * num <= bound and 2 * bound >= size:
            scan = (
                edge_index
                if edge_index.dtype in (torch.int32, torch.int64)
                else edge_index.long()
            )
            key = _reject_keys(
                kind,
                num_src,
                num_dst,
                num,
                (bound - num) / size,
                _scan_is_bad(kind, scan, num_src, num_dst),
                device,
                generator,
            )
    if key is None:
        space = _Space.single(kind, num_src, num_dst, device)
        if forbidden is None:
            if size == 0:
                _warn_short('negative_sampling', num, 0)
                return empty
            graph = torch.zeros(
                edge_index.size(1), dtype=torch.long, device=device
            )
            forbidden = _forbidden_from_edges(space, edge_index, graph)
        requested = num
        key, drawn = _exact_keys(
            space, forbidden, torch.tensor([num], device=device), generator
        )
        num = int(drawn[0])
        if num < requested:
            _warn_short('negative_sampling', requested, num)
    row, col = _decode_single(kind, key, num_src, num_dst)
    out = _layout(kind, row, col, torch.tensor([num], device=device))
    return out.to(edge_index.dtype)


def batched_negative_sampling(
    edge_index: Tensor,
    batch: Union[Tensor, Tuple[Tensor, Tensor]],
    num_neg_samples: Optional[Union[int, float]] = None,
    method: str = 'sparse',
    force_undirected: bool = False,
    *,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    r"""Samples random negative edges of several graphs given by
    :obj:`edge_index` and :obj:`batch`: a drop-in for
    :func:`torch_geometric.utils.batched_negative_sampling`.

    Every graph gets its own negatives, drawn as in
    :func:`negative_sampling` within the graph (exact, distinct, uniform),
    all graphs at once instead of one call per graph. The count applies per
    graph: :obj:`num_neg_samples` pairs, a ratio of the graph's edges, or one
    per edge. Unlike PyG, graphs after the last one that has edges also get
    their negatives.

    There is no :obj:`index` argument: a mini-batch of graphs changes from
    call to call, and the one sort per call is what the per-graph index
    would cost to build anyway.

    Args:
        edge_index (torch.Tensor): The edge indices, shape ``[2, E]``; every
            edge joins two nodes of the same graph.
        batch (torch.Tensor or Tuple[torch.Tensor, torch.Tensor]): The
            sorted graph id of every node, shape ``[N]``; a pair
            :obj:`(src_batch, dst_batch)` makes the graphs bipartite.
        num_neg_samples (int or float, optional): Negatives per graph: a
            count, a ratio of the graph's edges, or :obj:`None` for one per
            edge. Graphs with fewer non-edges give all they have (with a
            warning). (default: :obj:`None`)
        method (str, optional): :obj:`"sparse"` or :obj:`"dense"`, accepted
            for compatibility. (default: :obj:`"sparse"`)
        force_undirected (bool, optional): Unordered pairs, returned in both
            directions (per graph: the pairs, then their reverses). Ignored
            for bipartite graphs. (default: :obj:`False`)
        generator (torch.Generator, optional): The random generator.
            (default: :obj:`None`)

    Returns:
        torch.Tensor: The negative pairs, shape ``[2, *]``, grouped by graph
        in graph order, dtype and device of :obj:`edge_index`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If :obj:`batch` is not sorted or non-negative, an id is
            out of range, or an edge joins two graphs.

    Example:
        >>> edge_index = torch.tensor([[0, 0, 1, 2, 4, 4, 5, 6],
        ...                            [0, 1, 2, 3, 4, 5, 6, 7]])
        >>> batch = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
        >>> out = batched_negative_sampling(edge_index, batch)  # [2, 8]
    """
    check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
    _check_num_neg(num_neg_samples)
    _check_common(method, generator, None)
    _check_bool(force_undirected, 'force_undirected')
    if isinstance(batch, Tensor):
        batches, names, bipartite = [batch], ['batch'], False
    elif isinstance(batch, (tuple, list)) and len(batch) == 2:
        batches, names, bipartite = list(batch), ['batch[0]', 'batch[1]'], True
    else:
        raise TypeError(
            f"'batch' must be a tensor or a pair of tensors "
            f'(got {type(batch).__name__})'
        )
    for b, name in zip(batches, names):
        check_index_tensor(b, name, dim=1)
        if b.device != edge_index.device:
            raise ValueError(
                f"'{name}' is on {b.device} but 'edge_index' "
                f'is on {edge_index.device}'
            )
        if b.numel() > 0 and int(b.min()) < 0:
            raise ValueError(
                f"'{name}' holds a negative graph id ({int(b.min())})"
            )
        if b.numel() > 1 and bool((b[1:] < b[:-1]).any()):
            raise ValueError(
                f"'{name}' must be sorted (the nodes of each "
                f'graph contiguous and in graph order)'
            )
    src_batch = batches[0].long()
    dst_batch = batches[-1].long()
    check_in_range(edge_index[0], 'edge_index[0]', src_batch.numel())
    check_in_range(edge_index[1], 'edge_index[1]', dst_batch.numel())
    device = edge_index.device
    graph = src_batch[edge_index[0].long()]
    other = dst_batch[edge_index[1].long()]
    if bool((graph != other).any()):
        j = int((graph != other).nonzero()[0, 0])
        raise ValueError(
            f"'edge_index' column {j} joins graph "
            f'{int(graph[j])} to graph {int(other[j])}'
        )
    num_graphs = max(
        [int(b.max()) + 1 for b in (src_batch, dst_batch) if b.numel() > 0]
        + [0]
    )
    empty = edge_index.new_empty((2, 0))
    if num_graphs == 0:
        return empty
    kind = (
        _BIPARTITE
        if bipartite
        else (_UNDIRECTED if force_undirected else _DIRECTED)
    )
    num_src = torch.bincount(src_batch, minlength=num_graphs)
    num_dst = torch.bincount(dst_batch, minlength=num_graphs)
    space = _Space(
        kind,
        num_src,
        num_dst,
        torch.cumsum(num_src, 0) - num_src,
        torch.cumsum(num_dst, 0) - num_dst,
    )
    num_edges = torch.bincount(graph, minlength=num_graphs)
    if num_neg_samples is None:
        num = num_edges
    elif isinstance(num_neg_samples, float):
        num = (num_neg_samples * num_edges.double()).long()
    else:
        num = torch.full(
            (num_graphs,),
            int(num_neg_samples),
            dtype=torch.long,
            device=device,
        )
    if kind == _UNDIRECTED:
        num = num // 2
    if int(num.sum()) == 0:
        return empty
    forbidden = _forbidden_from_edges(space, edge_index, graph)
    key, drawn = _exact_keys(space, forbidden, num, generator)
    if bool((drawn < num).any()):
        short = int((drawn < num).sum())
        _warn_short(
            'batched_negative_sampling',
            int(num.sum()),
            int(drawn.sum()),
            f' (short in {short} graph(s))',
        )
    row, col = space.decode(key)
    return _layout(kind, row, col, drawn).to(edge_index.dtype)


def _structured_index(
    edge_index: Tensor,
    num_nodes: NumNodes,
    contains_neg_self_loops: bool,
    index: Optional[PositiveIndex],
) -> Tuple[Optional[PositiveIndex], int]:
    num_src, num_dst, bipartite = _resolve_sizes(edge_index, num_nodes, index)
    exclude_self = not bipartite and not contains_neg_self_loops
    if index is not None:
        _check_index_device(index, edge_index)
        if index.exclude_self != exclude_self:
            raise ValueError(
                f"'index' must be built with exclude_self={exclude_self} "
                f'here (contains_neg_self_loops={contains_neg_self_loops}, '
                f'{"bipartite" if bipartite else "homogeneous"} graph) '
                f'(got {index!r})'
            )
        check_in_range(edge_index[0], 'edge_index[0]', num_src)
        return index, num_dst
    if edge_index.numel() == 0:
        return None, num_dst
    return PositiveIndex(
        edge_index, num_src, num_dst, exclude_self=exclude_self
    ), num_dst


def structured_negative_sampling(
    edge_index: Tensor,
    num_nodes: NumNodes = None,
    contains_neg_self_loops: bool = True,
    *,
    num_neg_samples: int = 1,
    generator: Optional[torch.Generator] = None,
    index: Optional[PositiveIndex] = None,
) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Samples a negative edge :obj:`(i, k)` for every positive edge
    :obj:`(i, j)` of :obj:`edge_index`, returned as :obj:`(i, j, k)`: a
    drop-in for :func:`torch_geometric.utils.structured_negative_sampling`
    (the triplets of BPR, Rendle et al., UAI 2009).

    :obj:`k` is uniform over the nodes that are not positives of :obj:`i`,
    drawn exactly and without rejection
    (:meth:`~torch_geometric_negsamp.PositiveIndex.sample_complement`), so a
    high-degree node costs no more than any other. Where PyG loops forever
    because a node is connected to every node, this raises a
    :class:`ValueError` naming the node.

    Args:
        edge_index (torch.Tensor): The edge indices, shape ``[2, E]``.
        num_nodes (int or Tuple[int, int], optional): The number of nodes, or
            :obj:`(num_src_nodes, num_dst_nodes)` for a bipartite graph
            (:obj:`k` then indexes destination nodes). If :obj:`None`,
            :obj:`max_val + 1` of :obj:`edge_index` (or the sizes of
            :obj:`index`). (default: :obj:`None`)
        contains_neg_self_loops (bool, optional): If :obj:`False`, :obj:`k`
            is never :obj:`i`. Ignored for bipartite graphs.
            (default: :obj:`True`)
        num_neg_samples (int, optional): Negatives per positive, drawn
            independently (with replacement). (default: :obj:`1`)
        generator (torch.Generator, optional): The random generator.
            (default: :obj:`None`)
        index (PositiveIndex, optional): A prebuilt index of the positives
            (built with :obj:`exclude_self=not contains_neg_self_loops` for a
            homogeneous graph), reused instead of indexing
            :obj:`edge_index`; it may hold further positives to avoid.
            (default: :obj:`None`)

    Returns:
        (torch.Tensor, torch.Tensor, torch.Tensor): :obj:`edge_index[0]`,
        :obj:`edge_index[1]` (both ``[E]``) and :obj:`k`, ``[E]`` if
        :obj:`num_neg_samples == 1` else ``[E, num_neg_samples]``, int64.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an id is out of range, :obj:`index` does not match the
            call, or a source node has no negative.

    Example:
        >>> edge_index = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
        >>> i, j, k = structured_negative_sampling(edge_index,
        ...                                        num_neg_samples=2)
        >>> k.shape
        torch.Size([4, 2])
    """
    check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
    _check_bool(contains_neg_self_loops, 'contains_neg_self_loops')
    if isinstance(num_neg_samples, bool) or not isinstance(
        num_neg_samples, numbers.Integral
    ):
        raise TypeError(
            f"'num_neg_samples' must be an int (got "
            f'{type(num_neg_samples).__name__}: '
            f'{num_neg_samples!r})'
        )
    if num_neg_samples < 1:
        raise ValueError(
            f"'num_neg_samples' must be at least 1 (got {num_neg_samples})"
        )
    num_neg_samples = int(num_neg_samples)
    _check_common('sparse', generator, index)
    index, num_dst = _structured_index(
        edge_index, num_nodes, contains_neg_self_loops, index
    )
    shape = (-1,) if num_neg_samples == 1 else (-1, num_neg_samples)
    if index is None or edge_index.size(1) == 0:
        k = torch.empty(0, dtype=torch.long, device=edge_index.device)
        return edge_index[0], edge_index[1], k.view(shape)
    src = edge_index[0].long()
    start, end = index.row_bounds_unchecked(src)
    count = num_dst - (end - start)
    if bool((count <= 0).any()):
        node = int(src[count <= 0][0])
        loops = (
            ''
            if contains_neg_self_loops or num_dst != index.num_src_nodes
            else ' and self-loops are excluded'
        )
        raise ValueError(
            f'node {node} is connected to all {num_dst} nodes{loops}, so it '
            f'has no negative: structured negative sampling is infeasible on '
            f"this graph (see 'structured_negative_sampling_feasible')"
        )
    if num_neg_samples > 1:
        src, start, count = (
            t.view(-1, 1).expand(-1, num_neg_samples).contiguous()
            for t in (src, start, count)
        )
    k = index.complement_select_unchecked(
        src, randint_below(count, generator), start
    )
    return edge_index[0], edge_index[1], k.view(shape)


def structured_negative_sampling_feasible(
    edge_index: Tensor,
    num_nodes: NumNodes = None,
    contains_neg_self_loops: bool = True,
    *,
    index: Optional[PositiveIndex] = None,
) -> bool:
    r"""Returns :obj:`True` if :func:`structured_negative_sampling` can run
    on :obj:`edge_index`, i.e. no source node is connected to every node it
    could be paired with: a drop-in for
    :func:`torch_geometric.utils.structured_negative_sampling_feasible`.

    It answers for the source nodes of :obj:`edge_index` (those that need a
    negative); PyG's version also fails a graph whose only node has no edge
    when self-loops are excluded.

    Args:
        edge_index (torch.Tensor): The edge indices, shape ``[2, E]``.
        num_nodes (int or Tuple[int, int], optional): The number of nodes, or
            :obj:`(num_src_nodes, num_dst_nodes)` for a bipartite graph.
            (default: :obj:`None`)
        contains_neg_self_loops (bool, optional): If :obj:`False`, a node is
            not its own negative. (default: :obj:`True`)
        index (PositiveIndex, optional): A prebuilt index of the positives,
            as for :func:`structured_negative_sampling`.
            (default: :obj:`None`)

    :rtype: bool

    Example:
        >>> edge_index = torch.tensor([[0, 0, 1, 1, 2, 2, 2],
        ...                            [1, 2, 0, 2, 0, 1, 1]])
        >>> structured_negative_sampling_feasible(edge_index, 3, False)
        False
        >>> structured_negative_sampling_feasible(edge_index, 3, True)
        True
    """
    check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
    _check_bool(contains_neg_self_loops, 'contains_neg_self_loops')
    _check_common('sparse', None, index)
    index, _ = _structured_index(
        edge_index, num_nodes, contains_neg_self_loops, index
    )
    if index is None or edge_index.size(1) == 0:
        return True
    return bool((index.num_candidates(edge_index[0]) > 0).all())
