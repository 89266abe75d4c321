r"""Key spaces of the drop-in negative sampling functions: the candidate
pairs of one or several graphs laid end to end as one range of integers, so
that drawing pairs is drawing integers.

Three kinds of space:

* :data:`BIPARTITE` and :data:`DIRECTED`: key ``u * D + v`` (local ids) for
  every ordered pair of a graph of ``U x D`` nodes, loops included (the
  directed space forbids them through its forbidden keys);
* :data:`UNDIRECTED`: pairs :math:`u < v` of a graph of :math:`N` nodes,
  the rows of the strict upper triangle laid end to end (PyG's vector
  layout), :math:`N (N - 1) / 2` keys.
"""

from typing import Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp.index import PositiveIndex

BIPARTITE, DIRECTED, UNDIRECTED = 'bipartite', 'directed', 'undirected'


def kind_of(bipartite: bool, force_undirected: bool) -> str:
    r"""The space a call samples from (PyG ignores :obj:`force_undirected`
    for bipartite graphs)."""
    if bipartite:
        return BIPARTITE
    return UNDIRECTED if force_undirected else DIRECTED


def space_size(kind: str, num_src: int, num_dst: int) -> int:
    r"""Number of keys of one graph's space."""
    if kind == UNDIRECTED:
        return num_src * (num_src - 1) // 2
    return num_src * num_dst


def tri_encode(a: Tensor, b: Tensor, num) -> Tensor:
    r"""Key of the unordered pair :math:`a < b` among :obj:`num` nodes."""
    return a * (2 * num - a - 1) // 2 + (b - a - 1)


class KeySpace:
    r"""The candidate pairs of :math:`G` graphs laid end to end as one range
    of integer keys: graph :math:`g` owns ``[off[g], end[g])``.

    Args:
        kind (str): :data:`BIPARTITE`, :data:`DIRECTED` or
            :data:`UNDIRECTED`.
        num_src (torch.Tensor): Source nodes of every graph, ``[G]``.
        num_dst (torch.Tensor): Destination nodes of every graph, ``[G]``
            (equal to :obj:`num_src` unless bipartite).
        src_ptr (torch.Tensor): Global id of every graph's first source.
        dst_ptr (torch.Tensor): Global id of every graph's first destination.
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
        if kind == UNDIRECTED:
            self.size = num_src * (num_src - 1) // 2
        else:
            self.size = num_src * num_dst
        self.end = torch.cumsum(self.size, 0)
        self.off = self.end - self.size

    @classmethod
    def single(
        cls, kind: str, num_src: int, num_dst: int, device
    ) -> 'KeySpace':
        r"""The space of one graph whose ids start at 0."""

        def one(v):
            return torch.tensor([v], dtype=torch.long, device=device)

        return cls(kind, one(num_src), one(num_dst), one(0), one(0))

    @classmethod
    def of_sizes(cls, kind: str, num_src: Tensor, num_dst: Tensor):
        r"""The space of graphs whose nodes are numbered consecutively, graph
        after graph (a PyG mini-batch)."""
        src_ptr = torch.cumsum(num_src, 0) - num_src
        dst_ptr = torch.cumsum(num_dst, 0) - num_dst
        return cls(kind, num_src, num_dst, src_ptr, dst_ptr)

    def encode(
        self, row: Tensor, col: Tensor, graph: Tensor
    ) -> Tuple[Tensor, Tensor]:
        r"""Keys of the pairs ``(row, col)`` (global node ids) of graphs
        :obj:`graph`, and the mask of pairs that lie in the space (an
        undirected space has no loops)."""
        row, col = row.long(), col.long()
        if self.kind == UNDIRECTED:
            a, b = torch.minimum(row, col), torch.maximum(row, col)
            ptr = self.src_ptr[graph]
            key = self.off[graph] + tri_encode(
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
        if self.kind == UNDIRECTED:
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
            start = self.off[graph] + tri_encode(local, local + 1, num[graph])
            row = torch.searchsorted(start, key, right=True) - 1
            col = row + 1 + (key - start[row])
            return row, col
        graph = torch.searchsorted(self.end, key, right=True)
        local = key - self.off[graph]
        num_dst = self.num_dst[graph]
        row = torch.div(local, num_dst, rounding_mode='floor')
        col = local - row * num_dst
        return row + self.src_ptr[graph], col + self.dst_ptr[graph]

    def forbidden(self, edge_index: Tensor, graph: Tensor) -> Tensor:
        r"""The sorted keys no negative may take: the edges of
        :obj:`edge_index` (of graphs :obj:`graph`), and the loops of a
        directed space."""
        key, ok = self.encode(edge_index[0], edge_index[1], graph)
        key = key[ok]
        if self.kind == DIRECTED:
            key = torch.cat([key, self.loops()])
        return torch.unique(key)


def encode_single(
    kind: str, row: Tensor, col: Tensor, num_src: int, num_dst: int
) -> Tensor:
    r"""Keys of the pairs ``(row, col)`` of one graph's space (``long``
    ids); an undirected space drops the loops, which it does not hold."""
    if kind == UNDIRECTED:
        a, b = torch.minimum(row, col), torch.maximum(row, col)
        ok = a != b
        return tri_encode(a[ok], b[ok], num_src)
    return row * num_dst + col


def decode_single(
    kind: str, key: Tensor, num_src: int, num_dst: int
) -> Tuple[Tensor, Tensor]:
    r"""``(row, col)`` of the keys of one graph's space."""
    if kind == UNDIRECTED:
        return KeySpace.single(kind, num_src, num_dst, key.device).decode(key)
    row = torch.div(key, num_dst, rounding_mode='floor')
    return row, key - row * num_dst


def forbidden_from_index(kind: str, index: PositiveIndex) -> Tensor:
    r"""The sorted keys of one graph's space that :obj:`index` holds as
    positives (its loops too, when built with :obj:`exclude_self=True`)."""
    if kind != UNDIRECTED:
        # The index's keys are 'u * num_dst_nodes + v', as this space's:
        return index.keys
    row, col = index.edges()
    upper = row < col
    # Sorted by (row, col), so the triangle keys come out sorted too:
    return tri_encode(row[upper], col[upper], index.num_src_nodes)


def layout(kind: str, row: Tensor, col: Tensor, num: Tensor) -> Tensor:
    r"""PyG's output layout: ``[2, N]``, and for unordered pairs each graph's
    block holds its :obj:`num[g]` pairs :math:`(u, v)` followed by their
    reverses."""
    if kind != UNDIRECTED:
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
