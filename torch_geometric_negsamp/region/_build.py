r"""Construction of the stored regions of a
:class:`~torch_geometric_negsamp.region.KHopRegion`, exact or by walks."""

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import check_positive_int
from torch_geometric_negsamp.index import PositiveIndex, sorted_contains
from torch_geometric_negsamp.region._bits import or_pairs, pack_columns
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


def _emitter(builder, adj_rows: Tensor, adj_cols: Tensor) -> Emit:
    r"""The callback that stores the rows of a level (a COO block, or the
    transpose of a dense block), merged with the given adjacent pairs of
    the same rows (sorted by row)."""
    device = adj_rows.device

    def emit(row0: int, x: Optional[Tensor], x_t: Optional[Tensor]):
        n = x.size(0) if x is not None else x_t.size(1)
        bounds = torch.tensor([row0, row0 + n], device=device)
        lo, hi = torch.searchsorted(adj_rows, bounds).tolist()
        rows, cols = adj_rows[lo:hi] - row0, adj_cols[lo:hi]
        if x is not None:
            index = x.indices()
            builder.add(
                row0,
                n,
                torch.cat([index[0], rows]),
                torch.cat([index[1], cols]),
            )
            return
        packed = pack_columns(x_t, builder.row_bytes)
        or_pairs(packed, rows, cols)
        builder.add_packed(row0, packed)

    return Emit(
        emit,
        builder.pair_scratch,
        builder.row_scratch,
        builder.group_rows,
        builder.dense_scratch,
    )


def build_regions(
    region, edge_index: Tensor, positives: PositiveIndex
) -> Tuple[HybridRowSet, HybridRowSet, Optional[PositiveIndex], Dict]:
    r"""Returns ``(reach, adjacent, rank_index, stats)`` of
    :obj:`region` (a :class:`KHopRegion` whose options are set)."""
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

    adj_builder = HybridRowSet.builder(users, items, device, region.storage)
    reach_builder = HybridRowSet.builder(users, items, device, region.storage)
    emits = {}
    if a > 1:
        emits[a] = _emitter(adj_builder, extra_rows, extra_cols)
    if region.method == 'exact':
        emits[k] = _emitter(reach_builder, extra_rows, extra_cols)
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
    if a == 1:
        adj_builder.add(0, users, adj_rows, adj_cols)
    if powers is not None:
        stats.update(powers.run())
    adjacent = adj_builder.finish()

    if region.method == 'walk':
        stats['walk_blocks'] = _walk(
            region, reach_builder, adjacent, walk_csr, record_every, device
        )
    del first, mats, mats_t, walk_csr
    reach = reach_builder.finish()

    rank_index = None
    if a == 1:
        # Where each adjacent item ranks in its reach row: drawing the r-th
        # reach rank that is none of these is drawing the r-th
        # intermediate member.
        rank = reach.rank_unchecked(adj_rows, adj_cols)
        rank_index = PositiveIndex(torch.stack([adj_rows, rank]), users, items)
    return reach, adjacent, rank_index, stats


def _walk(region, builder, adjacent, walk_csr, record_every, device) -> int:
    r"""Adds, block by block, the walked items and the adjacent region of
    every user to :obj:`builder`; returns the number of blocks."""
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
        builder.add(
            row0,
            row1 - row0,
            torch.cat([local, adj_rows - row0]),
            torch.cat([cols, adj_cols]),
        )
        blocks += 1
    return blocks
