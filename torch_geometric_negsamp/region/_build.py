r"""Construction of the stored regions of a
:class:`~torch_geometric_negsamp.region.KHopRegion`, exact or by walks."""

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import check_positive_int
from torch_geometric_negsamp.index import PositiveIndex, sorted_contains
from torch_geometric_negsamp.region._bits import (
    block_counts_of_words,
    column_word_counts,
    or_pairs,
    pack_columns,
    packed_ranks,
)
from torch_geometric_negsamp.region._powers import (
    DEFAULT_MEMORY_BUDGET,
    BlockedPowers,
    Emit,
    csr_from_pairs,
)
from torch_geometric_negsamp.region._walks import (
    WALK_BYTES,
    walk_reach,
    walk_rows,
)
from torch_geometric_negsamp.region.hybrid_row_set import HybridRowSet


def check_budget(memory_budget) -> int:
    r"""The memory budget in bytes (:data:`DEFAULT_MEMORY_BUDGET` for
    :obj:`None`)."""
    if memory_budget is None:
        return DEFAULT_MEMORY_BUDGET
    return check_positive_int(memory_budget, 'memory_budget')


def _too_small(budget: int, need: int, what: str) -> ValueError:
    return ValueError(
        f"'memory_budget' must be at least {need:,} bytes for this graph "
        f'and k ({what} needs that much at worst) (got {budget:,})'
    )


def _graph(region, edge_index: Tensor):
    r"""The first matrix, the chain of matrices of the powers and their
    transposes, and the ``(rowptr, col)`` pairs and record step of the
    walks."""
    users, items, k = region.num_users, region.num_items, region.k
    src, dst = edge_index
    if region.bipartite:
        r = csr_from_pairs(src, dst, users, items)
        rt = csr_from_pairs(dst, src, items, users)
        walk = ((r.crow_indices(), r.col_indices()),)
        walk += ((rt.crow_indices(), rt.col_indices()),)
        half = (k - 1) // 2
        return r, [rt, r] * half, [r, rt] * half, walk, 2
    loop = torch.arange(users, device=src.device)
    # (A + I)^k: the rows of level l hold every node within l edges.
    src_loop, dst_loop = torch.cat([src, loop]), torch.cat([dst, loop])
    a_i = csr_from_pairs(src_loop, dst_loop, users, users)
    a_i_t = csr_from_pairs(dst_loop, src_loop, users, users)
    a = csr_from_pairs(src, dst, users, users)
    walk = ((a.crow_indices(), a.col_indices()),)
    return a_i, [a_i] * (k - 1), [a_i_t] * (k - 1), walk, 1


def _rows_of(pairs: Tuple[Tensor, Tensor], row0: int, n: int):
    r"""The pairs of rows ``row0 .. row0 + n - 1`` (sorted by row), with
    rows renumbered from zero."""
    rows, cols = pairs
    bounds = torch.tensor([row0, row0 + n], device=rows.device)
    lo, hi = torch.searchsorted(rows, bounds).tolist()
    return rows[lo:hi] - row0, cols[lo:hi]


def pair_ranks(rows, cols, num_cols: int, query_rows, query_cols) -> Tensor:
    r"""The rank of every member ``(query_rows, query_cols)`` among the
    members of its row in the set of pairs ``(rows, cols)``."""
    key = torch.unique(rows * num_cols + cols)
    at = torch.searchsorted(key, query_rows * num_cols + query_cols)
    return at - torch.searchsorted(key, query_rows * num_cols)


class _Emitter:
    r"""Stores the rows of a level (a COO block, or the transpose of a dense
    block) in :obj:`builder`, merged with the :obj:`extra` pairs of the
    same rows (sorted by row). :obj:`final`: the block is not used after
    (it may be modified). With :obj:`rank_pairs`, also collects the rank of
    each of these pairs (members, sorted by row) in its stored row."""

    def __init__(self, builder, extra, final: bool, rank_pairs=None):
        self.builder = builder
        self.extra = extra
        self.final = final
        self.rank_pairs = rank_pairs
        self.ranks = None if rank_pairs is None else []

    def emit(self) -> Emit:
        b = self.builder
        return Emit(
            self, b.pair_scratch, b.row_scratch, b.group_rows, b.dense_scratch
        )

    def add_pairs(self, row0: int, n: int, rows: Tensor, cols: Tensor):
        r"""Stores rows ``row0 .. row0 + n - 1`` given as pairs (row -
        :obj:`row0`, column)."""
        if self.ranks is not None:
            rank_rows, rank_cols = _rows_of(self.rank_pairs, row0, n)
            self.ranks.append(
                pair_ranks(
                    rows, cols, self.builder.num_cols, rank_rows, rank_cols
                )
            )
        self.builder.add(row0, n, rows, cols)

    def __call__(self, row0: int, x: Optional[Tensor], x_t: Optional[Tensor]):
        builder = self.builder
        n = x.size(0) if x is not None else x_t.size(1)
        rows, cols = _rows_of(self.extra, row0, n)
        if x is not None:
            index = x.indices()
            rows = torch.cat([index[0], rows])
            self.add_pairs(row0, n, rows, torch.cat([index[1], cols]))
            return
        words = builder.row_bytes // 8
        if self.final:
            x_t[cols, rows] = 1.0
            word_counts = column_word_counts(x_t, words)
            packed = pack_columns(x_t, builder.row_bytes)
            if self.ranks is not None:
                rank_rows, rank_cols = _rows_of(self.rank_pairs, row0, n)
                self.ranks.append(
                    packed_ranks(packed, word_counts, rank_rows, rank_cols)
                )
            counts = block_counts_of_words(word_counts)
            builder.add_packed(row0, packed, counts)
            return
        packed = pack_columns(x_t, builder.row_bytes)
        counts = block_counts_of_words(column_word_counts(x_t, words))
        new_rows, new_cols = or_pairs(packed, rows, cols)
        one = torch.ones_like(new_rows, dtype=torch.int32)
        counts.index_put_((new_rows, new_cols >> 9), one, accumulate=True)
        builder.add_packed(row0, packed, counts)


def build_regions(
    region,
    edge_index: Tensor,
    positives: PositiveIndex,
    own: Optional[Tuple[Tensor, Tensor]] = None,
) -> Tuple[HybridRowSet, HybridRowSet, Optional[PositiveIndex], Dict]:
    r"""Returns ``(reach, adjacent, rank_index, stats)`` of
    :obj:`region` (a :class:`KHopRegion` whose options are set); for
    ``adjacent_hops=0``, :obj:`own` holds the adjacent pairs (each node
    itself and its extra positives), sorted by row."""
    users, items = region.num_users, region.num_items
    k, a = region.k, region.adjacent_hops
    budget, device = region.memory_budget, edge_index.device
    adj_rows, adj_cols = positives.edges()
    first, mats, mats_t, walk_csr, record_every = _graph(region, edge_index)
    # Reach rows hold the training edges (and self-loops) already: only
    # the adjacent pairs outside the first matrix need merging in.
    width = first.size(1)
    crow = first.crow_indices()
    first_keys = first.col_indices() + width * torch.repeat_interleave(
        torch.arange(crow.numel() - 1, device=device), crow.diff()
    )
    outside = ~sorted_contains(first_keys, adj_rows * width + adj_cols)
    extra_rows, extra_cols = adj_rows[outside], adj_cols[outside]
    del first_keys, outside
    if a == 0:
        adj_rows, adj_cols = own

    adj_builder = HybridRowSet.builder(users, items, device, region.storage)
    reach_builder = HybridRowSet.builder(users, items, device, region.storage)
    emits = {}
    extra = (extra_rows, extra_cols)
    rank_pairs = (adj_rows, adj_cols) if a <= 1 else None
    if a > 1:
        emits[a] = _Emitter(adj_builder, extra, final=False).emit()
    reach_emitter = _Emitter(reach_builder, extra, True, rank_pairs)
    if region.method == 'exact':
        emits[k] = reach_emitter.emit()
        levels = k
    else:
        levels = a
        need = WALK_BYTES * region.num_walks * (k + 1)
        if budget < need:
            raise _too_small(budget, need, 'the walks of one source row')
    powers = None
    if emits:
        powers = BlockedPowers(
            first,
            mats[: levels - 1],
            mats_t[: levels - 1],
            emits,
            budget,
            region.block_size,
        )
        if budget < powers.min_budget:
            raise _too_small(budget, powers.min_budget, 'one source row')

    stats = {'method': region.method, 'memory_budget': budget}
    if a <= 1:
        adj_builder.add(0, users, adj_rows, adj_cols)
    if powers is not None:
        stats.update(powers.run())
    adjacent = adj_builder.finish()

    if region.method == 'walk':
        stats['walk_blocks'] = _walk(
            region, reach_emitter, adjacent, walk_csr, record_every, device
        )
    del first, mats, mats_t, walk_csr
    reach = reach_builder.finish()

    rank_index = None
    if a <= 1:
        # Where each adjacent item ranks in its reach row: drawing the r-th
        # reach rank that is none of these is drawing the r-th
        # intermediate member.
        rank = torch.cat(reach_emitter.ranks)
        rank_index = PositiveIndex(torch.stack([adj_rows, rank]), users, items)
    return reach, adjacent, rank_index, stats


def _walk(region, emitter, adjacent, walk_csr, record_every, device) -> int:
    r"""Stores, block by block, the walked items and the adjacent region of
    every user through :obj:`emitter`; returns the number of blocks."""
    users, items = region.num_users, region.num_items
    rows = walk_rows(region.num_walks, region.k, region.memory_budget)
    if region.block_size is not None:
        rows = min(rows, region.block_size)
    generator = None
    if region.seed is not None:
        generator = torch.Generator(device=device).manual_seed(region.seed)
    has_edges = walk_csr[0][1].numel() > 0
    blocks = 0
    for row0 in range(0, users, rows):
        row1 = min(users, row0 + rows)
        local = cols = torch.empty(0, dtype=torch.long, device=device)
        if has_edges:
            src = torch.arange(row0, row1, device=device)
            local, cols = walk_reach(
                src,
                walk_csr,
                region.k,
                region.num_walks,
                items,
                record_every,
                generator,
            )
        adj_rows, adj_cols = adjacent.members_unchecked(row0, row1)
        emitter.add_pairs(
            row0,
            row1 - row0,
            torch.cat([local, adj_rows - row0]),
            torch.cat([cols, adj_cols]),
        )
        blocks += 1
    return blocks
