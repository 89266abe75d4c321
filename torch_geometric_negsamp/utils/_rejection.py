r"""The rejection draw of :func:`negative_sampling`: distinct keys of one
graph's space drawn with replacement, positives and duplicates dropped, for
a bounded number of rounds (the exact draw of :mod:`._exact` completes what
is still short)."""

import math
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint, randperm
from torch_geometric_negsamp.index import PositiveIndex, sorted_contains
from torch_geometric_negsamp.utils import _exact
from torch_geometric_negsamp.utils._exact import exact_keys
from torch_geometric_negsamp.utils._keys import (
    DIRECTED,
    UNDIRECTED,
    KeySpace,
    decode_single,
    encode_single,
    forbidden_from_index,
    space_size,
)

IsBad = Callable[[Tensor], Tensor]


def reject_keys(
    kind: str,
    num_src: int,
    num_dst: int,
    num: int,
    accept: float,
    is_bad: IsBad,
    device,
    generator: Optional[torch.Generator],
) -> Optional[Tensor]:
    r"""Draws :obj:`num` distinct keys of one graph uniformly among the
    valid ones by rejection: pairs are drawn with replacement, positives
    (:obj:`is_bad`) and duplicates dropped, for at most
    :data:`._exact.MAX_ROUNDS` rounds. :obj:`accept` is a lower bound on the
    fraction of the space that is valid. Returns :obj:`None` if still short
    (the caller then draws exactly). The result is a uniformly random
    :obj:`num`-subset in random order: every step treats the valid keys
    symmetrically."""
    have = torch.empty(0, dtype=torch.long, device=device)  # sorted
    for _ in range(_exact.MAX_ROUNDS):
        need = num - have.numel()
        if need == 0:
            break
        size = need / accept
        size = int(1.1 * size + 4 * math.sqrt(size)) + 16
        row = randint(num_src, size, device, generator)
        col = randint(num_dst, size, device, generator)
        key = torch.unique(encode_single(kind, row, col, num_src, num_dst))
        key = key[~is_bad(key)]
        key = key[~sorted_contains(have, key)]
        if key.numel() > need:
            key = key[randperm(key.numel(), device, generator)[:need]]
        have = torch.sort(torch.cat([have, key])).values
    if have.numel() < num:
        return None
    return have[randperm(num, device, generator)]


def index_is_bad(
    kind: str, index: PositiveIndex, num_src: int, num_dst: int
) -> IsBad:
    r"""Positives of sorted candidate keys, looked up in :obj:`index` (which
    holds the loops when they are forbidden)."""

    def is_bad(key: Tensor) -> Tensor:
        row, col = decode_single(kind, key, num_src, num_dst)
        return index.contains_unchecked(row, col)

    return is_bad


def scan_is_bad(
    kind: str, edge_index: Tensor, num_src: int, num_dst: int
) -> IsBad:
    r"""Positives of sorted candidate keys among the edges, without sorting
    the edges: one pass of two table lookups keeps the edges whose endpoints
    are both among the candidates' endpoints, and only those are matched
    exactly. :obj:`edge_index` must be :obj:`int32` or :obj:`int64` (for
    :func:`torch.index_select`)."""

    def is_bad(key: Tensor) -> Tensor:
        row, col = decode_single(kind, key, num_src, num_dst)
        if kind == UNDIRECTED:
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
        e_key = encode_single(kind, e_row, e_col, num_src, num_dst)
        # The few edge keys that are candidates mark their candidate:
        bad = torch.zeros(key.numel(), dtype=torch.bool, device=key.device)
        e_key = e_key[sorted_contains(key, e_key)]
        bad[torch.searchsorted(key, e_key)] = True
        if kind == DIRECTED:
            bad |= row == col
        return bad

    return is_bad


def draw_single(
    kind: str,
    edge_index: Tensor,
    num_src: int,
    num_dst: int,
    num: int,
    index: Optional[PositiveIndex],
    generator: Optional[torch.Generator],
) -> Tuple[Tensor, int]:
    r"""The keys of :obj:`num` distinct negatives of one graph's space, a
    uniformly random subset in random order, and how many were drawn (fewer
    only where fewer non-edges exist). Sparse requests go by rejection
    (without an index, the edge list is scanned once per round and never
    sorted); dense ones, and the rare draw still short after the rounds,
    are drawn exactly over the complement of the positives (:obj:`index`'s,
    or the edges of :obj:`edge_index` and, for a directed space, the
    loops)."""
    device = edge_index.device
    size = space_size(kind, num_src, num_dst)
    empty = torch.empty(0, dtype=torch.long, device=device)
    is_bad: Optional[IsBad] = None
    if index is not None:
        if kind == UNDIRECTED:  # both directions and the N loops are held
            avail = size - (index.num_edges - num_src) // 2
        else:
            avail = size - index.num_edges
        num = min(num, avail)
        if num == 0:
            return empty, 0
        if 4 * num <= avail and 4 * avail >= size:
            accept = (avail - num) / size
            is_bad = index_is_bad(kind, index, num_src, num_dst)
    else:
        if size == 0:
            return empty, 0
        # Each edge rules out at most one pair (plus the loops):
        bound = (
            size - edge_index.size(1) - (num_src if kind == DIRECTED else 0)
        )
        if 4 * num <= bound and 2 * bound >= size:
            scan = edge_index
            if scan.dtype not in (torch.int32, torch.int64):
                scan = scan.long()
            accept = (bound - num) / size
            is_bad = scan_is_bad(kind, scan, num_src, num_dst)
    if is_bad is not None:
        key = reject_keys(
            kind, num_src, num_dst, num, accept, is_bad, device, generator
        )
        if key is not None:
            return key, num
    space = KeySpace.single(kind, num_src, num_dst, device)
    if index is not None:
        forbidden = forbidden_from_index(kind, index)
    else:
        graph = torch.zeros(
            edge_index.size(1), dtype=torch.long, device=device
        )
        forbidden = space.forbidden(edge_index, graph)
    # More than the space holds draws all of it (the count fits in int64):
    want = torch.tensor([min(num, size)], device=device)
    key, drawn = exact_keys(space, forbidden, want, generator)
    return key, int(drawn[0])
