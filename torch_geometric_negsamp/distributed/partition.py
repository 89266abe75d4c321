r"""Splitting an epoch's positives across ranks, each exactly once."""

from typing import List

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_index_tensor,
    check_int,
    check_positive_int,
)


def shard(order: Tensor, rank: int, world_size: int) -> Tensor:
    r"""The part of :obj:`order` (e.g. an epoch's permutation of the
    positives) that :obj:`rank` trains on: contiguous, sizes differing by at
    most one, and together every entry exactly once (unlike
    :class:`~torch.utils.data.distributed.DistributedSampler`, which pads by
    repeating entries).

    Args:
        order (torch.Tensor): A 1-D tensor, the same on every rank.
        rank (int): This rank.
        world_size (int): The number of ranks.
    """
    check_index_tensor(order, 'order', dim=1)
    world_size = check_positive_int(world_size, 'world_size')
    rank = check_int(rank, 'rank', minimum=0, maximum=world_size - 1)
    return torch.tensor_split(order, world_size)[rank]


def num_steps(total: int, world_size: int, batch_size: int) -> int:
    r"""The number of steps every rank takes in an epoch of :obj:`total`
    positives: the same on all ranks (data-parallel steps synchronise), so
    that the largest shard fits in batches of at most :obj:`batch_size`."""
    total = check_int(total, 'total', minimum=0)
    world_size = check_positive_int(world_size, 'world_size')
    batch_size = check_positive_int(batch_size, 'batch_size')
    largest = -(-total // world_size)
    return max(1, -(-largest // batch_size))


def batches(part: Tensor, steps: int) -> List[Tensor]:
    r""":obj:`part` in :obj:`steps` consecutive batches whose sizes differ
    by at most one (some may be empty when a rank holds fewer entries than
    steps)."""
    steps = check_positive_int(steps, 'steps')
    return list(torch.tensor_split(part, steps))
