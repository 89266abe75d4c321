r"""Mini-batches of links under DDP: each rank its shard of
:obj:`edge_label_index`, with the semantics of
:class:`~torch.utils.data.distributed.DistributedSampler`."""

from typing import List, Optional, Union

import torch
from torch import Tensor
from torch.utils.data.distributed import DistributedSampler
from torch_geometric.data import Data, HeteroData

from torch_geometric_negsamp._edge_types import label_edges
from torch_geometric_negsamp._random import mix_seed
from torch_geometric_negsamp._validate import (
    check_bool,
    check_index_tensor,
    check_instance,
    check_int,
    check_seed,
)
from torch_geometric_negsamp.distributed.context import DistributedContext
from torch_geometric_negsamp.loader import LinkNeighborLoader
from torch_geometric_negsamp.sampler.base import NegativeSampler


def _context(context: Optional[DistributedContext]) -> DistributedContext:
    if context is None:
        return DistributedContext.from_env()
    return check_instance(context, 'context', DistributedContext)


def _sampler(
    num: int,
    context: DistributedContext,
    shuffle: bool,
    seed: int,
    drop_last: bool,
) -> DistributedSampler:
    # PyTorch's own sampler, so that the padding, the dropping and the
    # epoch's shuffle are exactly those a DDP user knows.
    return DistributedSampler(
        range(num),
        num_replicas=context.world_size,
        rank=context.rank,
        shuffle=check_bool(shuffle, 'shuffle'),
        seed=check_seed(seed),
        drop_last=check_bool(drop_last, 'drop_last'),
    )


def shard_ids(
    num: int,
    context: DistributedContext,
    epoch: int = 0,
    *,
    shuffle: bool = True,
    seed: int = 0,
    drop_last: bool = False,
) -> Tensor:
    r"""The positions of :obj:`num` links this rank takes in epoch
    :obj:`epoch`: those :class:`~torch.utils.data.distributed.
    DistributedSampler` yields (``num_replicas=context.world_size``,
    ``rank=context.rank``). The epoch's permutation of ``seed + epoch`` is
    the same on every rank; without :obj:`drop_last` it is padded with its
    first entries to a multiple of the world size (so a few links are seen
    twice in the epoch), with it the tail is dropped (a few not at all);
    rank :math:`r` takes entries :math:`r, r + W, r + 2W, \ldots`.

    Args:
        num (int): The number of links.
        context (DistributedContext): This process's place in the run.
        epoch (int, optional): The epoch. (default: :obj:`0`)
        shuffle (bool, optional): Shuffle every epoch.
            (default: :obj:`True`)
        seed (int, optional): Seed of the shuffle, the same on every rank.
            (default: :obj:`0`)
        drop_last (bool, optional): Drop the tail instead of padding.
            (default: :obj:`False`)
    """
    num = check_int(num, 'num', minimum=1)
    context = check_instance(context, 'context', DistributedContext)
    sampler = _sampler(num, context, shuffle, seed, drop_last)
    sampler.set_epoch(check_int(epoch, 'epoch', minimum=0))
    return torch.tensor(list(sampler), dtype=torch.long)


def shard_edge_label_index(
    edge_label_index: Tensor,
    context: Optional[DistributedContext] = None,
    epoch: int = 0,
    *,
    shuffle: bool = True,
    seed: int = 0,
    drop_last: bool = False,
) -> Tensor:
    r"""This rank's shard ``[2, P_r]`` of the links :obj:`edge_label_index`
    ``[2, P]`` in epoch :obj:`epoch` (see :func:`shard_ids`), for a
    mini-batch loader of its own.

    A sampler that fits itself on the loader's :obj:`edge_label_index`
    would see only the shard: fit it on all positives first (or use
    :class:`DistributedLinkNeighborLoader`, which does), so that its
    negatives stay exact.

    Args:
        edge_label_index (torch.Tensor): All links, the same on every rank.
        context (DistributedContext, optional): This process's place in the
            run. (default: :meth:`DistributedContext.from_env`)
        epoch, shuffle, seed, drop_last: As in :func:`shard_ids`.
    """
    check_index_tensor(edge_label_index, 'edge_label_index', dim=2)
    if edge_label_index.size(0) != 2:
        raise ValueError(
            f"'edge_label_index' must have shape [2, P] (got "
            f'{list(edge_label_index.shape)})'
        )
    ids = shard_ids(
        edge_label_index.size(1),
        _context(context),
        epoch,
        shuffle=shuffle,
        seed=seed,
        drop_last=drop_last,
    )
    return edge_label_index[:, ids.to(edge_label_index.device)]


class DistributedLinkNeighborLoader(LinkNeighborLoader):
    r"""A :class:`~torch_geometric_negsamp.loader.LinkNeighborLoader` for
    data-parallel training: each rank iterates over its shard of
    :obj:`edge_label_index` (the :class:`~torch.utils.data.distributed.
    DistributedSampler` shard of :func:`shard_ids`), reshuffled at every
    :meth:`set_epoch`, with exact negatives.

    Every rank holds the whole graph and the whole :obj:`edge_label_index`;
    the negative sampler is fitted on all of it (and on
    :obj:`extra_positives`), not on the rank's shard, so that no negative
    is a known positive: filtering is per source, and the replicated index
    knows every source's positives. :meth:`set_epoch` also restarts the
    negative stream from ``(seed, rank, epoch)``
    (:meth:`DistributedContext.rank_seed`): reproducible, and distinct
    across ranks. (With :obj:`num_workers > 0` the workers take the new
    stream at the next epoch's iteration; :obj:`persistent_workers=True`
    would keep the first epoch's copy of the sampler.)

    Args:
        data (torch_geometric.data.Data or torch_geometric.data.HeteroData):
            The graph (the same on every rank).
        num_neighbors (List[int] or dict): Neighbours per node and hop.
        context (DistributedContext, optional): This process's place in the
            run. (default: :meth:`DistributedContext.from_env`)
        edge_label_index (torch.Tensor or tuple, optional): All positive
            links, as in :class:`LinkNeighborLoader`. (default: all edges)
        shuffle (bool, optional): Reshuffle the links every epoch.
            (default: :obj:`True`)
        seed (int, optional): Seed of the shuffle (the same on every rank)
            and of the ranks' negative streams. (default: :obj:`0`)
        drop_last (bool, optional): Drop the tail of the links that does not
            divide by the world size instead of padding with repeated ones,
            as :class:`~torch.utils.data.distributed.DistributedSampler`
            does. (default: :obj:`False`)
        **kwargs: The other arguments of :class:`LinkNeighborLoader`
            (:obj:`neg_sampling`, :obj:`batch_size`, ...), but not
            :obj:`sampler` or :obj:`batch_sampler`.

    Example:
        >>> ctx = DistributedContext.from_env()  # under torchrun
        >>> loader = DistributedLinkNeighborLoader(
        ...     data, [10, 5], ctx, batch_size=256,
        ...     neg_sampling=UniformSampler('triplet', amount=4))
        >>> for epoch in range(epochs):
        ...     loader.set_epoch(epoch)
        ...     for batch in loader: ...
    """

    def __init__(
        self,
        data: Union[Data, HeteroData],
        num_neighbors: Union[List[int], dict],
        context: Optional[DistributedContext] = None,
        *,
        edge_label_index=None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        **kwargs,
    ):
        for key in ('sampler', 'batch_sampler'):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"'{key}' is set by DistributedLinkNeighborLoader (got "
                    f'{type(kwargs[key]).__name__})'
                )
        self.context = _context(context)
        self.seed = check_seed(seed)
        self.epoch = 0
        check_instance(
            data, 'data', (Data, HeteroData), what='a Data or HeteroData'
        )
        num = label_edges(data, edge_label_index)[1].size(1)
        # PyG's loader iterates over the positions of the links: the rank's
        # positions are those of PyTorch's DistributedSampler.
        self.distributed_sampler = _sampler(
            num, self.context, shuffle, seed, drop_last
        )
        super().__init__(
            data,
            num_neighbors,
            edge_label_index=edge_label_index,
            sampler=self.distributed_sampler,
            **kwargs,
        )
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        r"""Selects epoch :obj:`epoch`'s shuffle and restarts the rank's
        negative stream from ``(seed, rank, epoch)``."""
        self.epoch = check_int(epoch, 'epoch', minimum=0)
        self.distributed_sampler.set_epoch(self.epoch)
        if isinstance(self.neg_sampling, NegativeSampler):
            self.neg_sampling.reseed(
                self.context.rank_seed(mix_seed(self.seed, self.epoch))
            )

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(rank={self.context.rank}, '
            f'world_size={self.context.world_size}, '
            f'neg_sampling={self.neg_sampling})'
        )
