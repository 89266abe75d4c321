r"""The entity neighbourhoods that :class:`~torch_geometric_negsamp.kg.
SANSCorruption` draws from, with exact, rejection-free draws that skip the
entities forming a known triple: uniform over the rows of a
:class:`~torch_geometric_negsamp.region.KHopRegion`, or weighted by the
visit counts of random walks."""

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp._tensor_store import TensorStore
from torch_geometric_negsamp.index import PositiveIndex, sorted_contains
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.region._build import _too_small
from torch_geometric_negsamp.region._powers import csr_from_pairs
from torch_geometric_negsamp.region._walks import (
    WALK_BYTES,
    walk_reach,
    walk_rows,
)


def _known_pairs(index: PositiveIndex) -> Tuple[Tensor, Tensor, Tensor]:
    r"""``(key, kept, replaced)`` of every known triple of a side's index
    (source ``relation * num_entities + kept``), sorted by key, then
    replaced entity."""
    key, replaced = index.edges()
    n = index.num_dst_nodes
    return key, key - torch.div(key, n, rounding_mode='floor') * n, replaced


class RegionNeighborhoods(TensorStore):
    r"""Uniform draws over :math:`N_k(e)`, the entities within :math:`k`
    hops of :math:`e` (the reach rows of a :class:`KHopRegion` built with
    ``adjacent_hops=0``), :math:`e` itself left out unless
    :obj:`include_self`, minus the entities that form a known triple.

    The known triples of each side whose replaced entity lies in the kept
    entity's reach row are held as their ranks in that row, in a
    :class:`~torch_geometric_negsamp.PositiveIndex` keyed by
    ``relation * num_entities + kept``: a draw of rank :math:`u` among the
    valid entities is the :math:`u`-th rank outside that index (the
    complement-select of :class:`PositiveIndex`), shifted past the rank of
    :math:`e` itself when it is left out, then the member of that rank.
    """

    def __init__(self, region: KHopRegion, include_self: bool):
        self.region = region
        self.include_self = include_self
        self._excluded: Dict[str, PositiveIndex] = {}

    def exclude(self, side: str, index: PositiveIndex) -> None:
        key, kept, replaced = _known_pairs(index)
        reach = self.region.reach
        inside = reach.contains_unchecked(kept, replaced)
        if not self.include_self:
            inside &= replaced != kept  # left out already
        rank = reach.rank_unchecked(kept[inside], replaced[inside])
        self._excluded[side] = PositiveIndex(
            torch.stack([key[inside], rank]),
            index.num_src_nodes,
            index.num_dst_nodes,
        )

    def sizes(self) -> Tensor:
        return self.region.reach.count - (0 if self.include_self else 1)

    def contains_unchecked(self, entity: Tensor, other: Tensor) -> Tensor:
        out = self.region.reach.contains_unchecked(entity, other)
        return out if self.include_self else out & (entity != other)

    def size(self, kept: Tensor, key: Tensor, side: str) -> Tensor:
        r"""The number of valid entities of each row (:obj:`key` is
        ``relation * num_entities + kept``)."""
        out = self.sizes()[kept]
        excluded = self._excluded.get(side)
        if excluded is not None:
            start, end = excluded.row_bounds_unchecked(key)
            out = out - (end - start)
        return out

    def draw(self, kept, key, side, size, generator) -> Tensor:
        reach = self.region.reach
        excluded = self._excluded.get(side)
        rank = randint_below(size, generator)
        if not self.include_self:
            # Skip the valid rank that e itself would have.
            own = reach.rank_unchecked(kept, kept)
            if excluded is not None:
                own = excluded.complement_rank_unchecked(key, own)
            rank = rank + (rank >= own).long()
        if excluded is not None:
            rank = excluded.complement_select_unchecked(key, rank)
        return reach.select_unchecked(kept, rank)

    def _parts(self) -> list:
        return [self.region, *self._excluded.values()]


class _Excluded(TensorStore):
    _TENSORS = ('key', 'prefix')

    def __init__(self, key: Tensor, prefix: Tensor):
        self.key = key  # sorted: (relation * n + kept) * n + row position
        self.prefix = prefix  # [m + 1] exclusive prefix sums of the counts


class VisitNeighborhoods(TensorStore):
    r"""Draws weighted by visit counts: :obj:`num_walks` random walks of
    :math:`k` edges start from every entity :math:`e` of the undirected
    graph :obj:`edge_index`; :math:`c(e, v)` counts the steps
    :math:`1 .. k` at which one of them stands on :math:`v`, and a draw
    picks :math:`v` with probability proportional to :math:`c(e, v)` among
    the entities that form no known triple (:math:`e` itself left out
    unless :obj:`include_self`).

    Exact and rejection free: each row stores its entities sorted with
    the prefix sums of their counts, the known triples in a row their
    positions and the prefix sums of their counts; a uniform integer
    :math:`u` below the valid mass is mapped to the first position whose
    valid mass up to it exceeds :math:`u`, by a binary search (about
    :math:`\log_2` of the largest row length steps).
    """

    def __init__(
        self,
        edge_index: Tensor,
        num_nodes: int,
        k: int,
        num_walks: int,
        include_self: bool,
        memory_budget: int,
        seed: Optional[int],
    ):
        need = WALK_BYTES * num_walks * (k + 1)
        if memory_budget < need:  # as KHopRegion's walks
            raise _too_small(memory_budget, need, 'the walks of one row')
        device = edge_index.device
        n = num_nodes
        adj = csr_from_pairs(edge_index[0], edge_index[1], n, n)
        csr = ((adj.crow_indices(), adj.col_indices()),)
        generator = None
        if seed is not None:
            generator = torch.Generator(device=device).manual_seed(seed)
        step = walk_rows(num_walks, k, memory_budget)
        rows, cols, counts = [], [], []
        if adj.col_indices().numel() > 0:
            for row0 in range(0, n, step):
                src = torch.arange(row0, min(n, row0 + step), device=device)
                row, col, count = walk_reach(
                    src, csr, k, num_walks, n, 1, generator, True
                )
                rows.append(row + row0)
                cols.append(col)
                counts.append(count)
        empty = torch.empty(0, dtype=torch.long, device=device)
        row = torch.cat(rows) if rows else empty
        col = torch.cat(cols) if cols else empty
        count = torch.cat(counts) if counts else empty
        if not include_self:
            keep = row != col
            row, col, count = row[keep], col[keep], count[keep]
        self.num_nodes = n
        self.keys = row * n + col  # sorted: blocks and rows in order
        self.rowptr = torch.zeros(n + 1, dtype=torch.long, device=device)
        torch.cumsum(torch.bincount(row, minlength=n), 0, out=self.rowptr[1:])
        self.prefix = _prefix(count)
        length = self.rowptr.diff()
        self._steps = int(length.max()).bit_length() if n > 0 else 0
        self._excluded: Dict[str, _Excluded] = {}

    def exclude(self, side: str, index: PositiveIndex) -> None:
        key, kept, replaced = _known_pairs(index)
        n = self.num_nodes
        at = torch.searchsorted(self.keys, kept * n + replaced)
        inside = sorted_contains(self.keys, kept * n + replaced)
        at, key, kept = at[inside], key[inside], kept[inside]
        weight = self.prefix[at + 1] - self.prefix[at]
        # Positions grow with the replaced entity: the keys stay sorted.
        position = at - self.rowptr[kept]
        self._excluded[side] = _Excluded(key * n + position, _prefix(weight))

    def sizes(self) -> Tensor:
        return self.rowptr.diff()

    def contains_unchecked(self, entity: Tensor, other: Tensor) -> Tensor:
        return sorted_contains(self.keys, entity * self.num_nodes + other)

    def weights(self, entity: Tensor, other: Tensor) -> Tensor:
        r"""The visit counts :math:`c(e, v)` (zero outside the rows)."""
        key = entity * self.num_nodes + other
        at = torch.searchsorted(self.keys, key)
        # Bounded only on lanes past the last key (not members: masked).
        weight = self.prefix[(at + 1).clamp(max=self.keys.numel())]
        weight = weight - self.prefix[at]
        return torch.where(sorted_contains(self.keys, key), weight, 0)

    def size(self, kept: Tensor, key: Tensor, side: str) -> Tensor:
        r"""The valid visit mass of each row (what :meth:`draw` draws an
        integer below; zero exactly where no valid entity is left)."""
        start, end = self.rowptr[kept], self.rowptr[kept + 1]
        out = self.prefix[end] - self.prefix[start]
        excluded = self._excluded.get(side)
        if excluded is not None:
            n = self.num_nodes
            lo = torch.searchsorted(excluded.key, key * n)
            hi = torch.searchsorted(excluded.key, key * n + n)
            out = out - (excluded.prefix[hi] - excluded.prefix[lo])
        return out

    def draw(self, kept, key, side, size, generator) -> Tensor:
        n = self.num_nodes
        start = self.rowptr[kept]
        target = randint_below(size, generator)
        excluded = self._excluded.get(side)
        if excluded is not None:
            lo_ex = torch.searchsorted(excluded.key, key * n)
        # The first position j of the row whose valid mass up to j (its
        # counts minus the excluded ones, j included) exceeds the target:
        # excluded positions add no mass, so j is never one of them.
        lo = torch.zeros_like(kept)
        hi = self.rowptr[kept + 1] - start - 1
        for _ in range(self._steps):
            mid = (lo + hi) >> 1
            mass = self.prefix[start + mid + 1] - self.prefix[start]
            if excluded is not None:
                upto = torch.searchsorted(
                    excluded.key, key * n + mid, right=True
                )
                mass = mass - (excluded.prefix[upto] - excluded.prefix[lo_ex])
            ok = mass > target
            hi = torch.where(ok, mid, hi)
            lo = torch.where(ok, lo, mid + 1)
        return self.keys[start + lo] - kept * n

    _TENSORS = ('keys', 'rowptr', 'prefix')

    def _parts(self) -> list:
        return list(self._excluded.values())


def _prefix(count: Tensor) -> Tensor:
    out = torch.zeros(count.numel() + 1, dtype=torch.long, device=count.device)
    torch.cumsum(count, 0, out=out[1:])
    return out
