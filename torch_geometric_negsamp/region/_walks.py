r"""The random-walk approximation of k-hop regions."""

from typing import Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below

#: Transient bytes per walker and step (positions, draws, recorded keys
#: and their sort).
WALK_BYTES = 48


def walk_rows(num_walks: int, k: int, memory_budget: int) -> int:
    r"""Source rows per block of walks that keep a block within the
    budget (at least one)."""
    return max(1, memory_budget // (WALK_BYTES * num_walks * (k + 1)))


def walk_reach(
    src: Tensor,
    csr: Tuple[Tuple[Tensor, Tensor], ...],
    k: int,
    num_walks: int,
    num_cols: int,
    record_every: int,
    generator: Optional[torch.Generator] = None,
    return_counts: bool = False,
) -> Tuple[Tensor, ...]:
    r"""Runs :obj:`num_walks` walks of :obj:`k` edges from every node of
    :obj:`src`: step :math:`s` follows ``csr[(s - 1) % len(csr)]`` (a pair
    ``(rowptr, col)``) to a uniformly chosen stored neighbour; a walk that
    reaches a node without neighbours stops there. Returns the distinct
    pairs ``(i, v)`` (sorted) such that a walk from ``src[i]`` stood on
    ``v`` after a recorded step: every step when :obj:`record_every` is 1
    (a homogeneous graph, ``csr = (A,)``), the odd steps when it is 2 (a
    bipartite graph, ``csr = (R, R^T)``: odd steps land on items). The
    graph must have at least one edge. With :obj:`return_counts`, also the
    number of recorded visits of every pair (walks and steps).
    """
    device = src.device
    walker = torch.arange(src.numel(), device=device)
    walker = walker.repeat_interleave(num_walks)
    pos = src.repeat_interleave(num_walks)
    alive = torch.ones(pos.numel(), dtype=torch.bool, device=device)
    keys = []
    for step in range(1, k + 1):
        rowptr, col = csr[(step - 1) % len(csr)]
        start = rowptr[pos]
        degree = rowptr[pos + 1] - start
        alive &= degree > 0
        # One draw per walker and step, dead or alive, so that a seeded
        # stream does not depend on where walks stop.
        offset = randint_below(degree.clamp(min=1), generator)
        at = torch.where(alive, start + offset, 0)
        # A stopped walk stands on node 0 (a valid id on either side of a
        # bipartite graph) and is never recorded again.
        pos = torch.where(alive, col[at], 0)
        if step % record_every == 1 % record_every:
            keys.append((walker * num_cols + pos)[alive])
    key = torch.unique(torch.cat(keys), return_counts=return_counts)
    if return_counts:
        key, count = key
    row = torch.div(key, num_cols, rounding_mode='floor')
    if return_counts:
        return row, key - row * num_cols, count
    return row, key - row * num_cols
