r"""The exact draw of the drop-ins: distinct keys uniform over the
complement of the sorted forbidden keys, in every graph of a key space at
once, bounded whatever the density."""

from typing import List, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._random import group_shuffle, randint_below_wide
from torch_geometric_negsamp.index import (
    complement_select,
    complement_shift,
    sorted_contains,
)
from torch_geometric_negsamp.utils._keys import KeySpace

#: Rounds of rejection (of positives and duplicates) before an exact
#: completion takes over, here and in :mod:`._rejection`. Each round is sized
#: to succeed with high probability; the exact completion makes the bound
#: safe.
MAX_ROUNDS = 4


def distinct_ranks(
    avail: Tensor, num: Tensor, generator: Optional[torch.Generator]
) -> Tensor:
    r"""Draws, for every segment :math:`g`, :obj:`num[g]` distinct ranks
    uniformly from ``[0, avail[g])`` (:obj:`num <= avail`), as global ranks
    (offset by the sizes of the segments before), grouped by segment in
    random order.

    Segments asking for at least a quarter of their range enumerate it and
    keep a random subset; the others draw with replacement and drop
    duplicates for :data:`MAX_ROUNDS` rounds (each draw is new with
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
        order, pos = group_shuffle(seg, num_seg, generator)
        keep = pos < num[seg[order]]
        parts.append(rank[order][keep])

    need = torch.where(dense, torch.zeros_like(num), num)
    have = torch.empty(0, dtype=torch.long, device=device)  # sorted
    for _ in range(MAX_ROUNDS):
        if int(need.sum()) == 0:
            break
        size = (need.double() * 1.5).ceil().long() + 8
        size = torch.where(need > 0, size, torch.zeros_like(size))
        seg = torch.repeat_interleave(seg_ids, size)
        rank = off[seg] + randint_below_wide(avail[seg], generator)
        rank = torch.unique(rank)
        rank = rank[~sorted_contains(have, rank)]
        seg = torch.searchsorted(end, rank, right=True)
        order, pos = group_shuffle(seg, num_seg, generator)
        new = rank[order][pos < need[seg[order]]]
        have = torch.sort(torch.cat([have, new])).values
        need = need - torch.bincount(
            torch.searchsorted(end, new, right=True), minlength=num_seg
        )
    # Completion, one rank per short segment per step: the t-th free rank
    # of a segment, counted over the whole range, is the (t + taken before
    # it)-th integer not in 'have'.
    for _ in range(int(need.max()) if num_seg > 0 else 0):
        short = (need > 0).nonzero().view(-1)
        if short.numel() == 0:
            break
        taken = torch.bincount(
            torch.searchsorted(end, have, right=True), minlength=num_seg
        )
        before = torch.cumsum(taken, 0) - taken
        t = (
            off[short]
            - before[short]
            + randint_below_wide(avail[short] - taken[short], generator)
        )
        new = complement_select(complement_shift(have), t)
        have = torch.sort(torch.cat([have, new])).values
        need[short] -= 1
    if have.numel() > 0:
        parts.append(have)

    rank = torch.cat(parts) if parts else have
    seg = torch.searchsorted(end, rank, right=True)
    order, _ = group_shuffle(seg, num_seg, generator)
    return rank[order]


def exact_keys(
    space: KeySpace,
    forbidden: Tensor,
    num: Tensor,
    generator: Optional[torch.Generator],
) -> Tuple[Tensor, Tensor]:
    r"""Exact draw: :obj:`num[g]` distinct keys per graph, uniform among the
    keys not in the sorted :obj:`forbidden`. Returns the keys (grouped by
    graph) and the number drawn per graph (:obj:`num` capped at what
    exists)."""
    taken = torch.searchsorted(forbidden, space.end) - torch.searchsorted(
        forbidden, space.off
    )
    avail = space.size - taken
    num = torch.minimum(num, avail)
    rank = distinct_ranks(avail, num, generator)
    return complement_select(complement_shift(forbidden), rank), num
