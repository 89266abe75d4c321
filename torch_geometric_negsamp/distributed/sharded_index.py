r"""The index of positives partitioned by source across ranks."""

from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_in_range,
    check_index_tensor,
    check_int,
    check_positive_int,
)
from torch_geometric_negsamp.index import PositiveIndex, positive_pairs


class ShardedPositiveIndex:
    r"""This rank's share of a :class:`~torch_geometric_negsamp.PositiveIndex`
    when the whole index does not fit one process: source :math:`u` belongs
    to rank :math:`u \bmod W`, and the rank holds exactly the positives of
    its own sources (about :math:`1/W` of them), keyed by the local id
    :math:`\lfloor u / W \rfloor`.

    Negatives stay exact: filtering is per source, so the owner of a source
    answers every question about it (membership, degree, uniform
    non-positive draws) exactly as the replicated index would. Positives of
    other ranks' sources are routed to their owner (see :meth:`owner`); a
    query about a source this rank does not own is an error, never a
    silent miss.

    Args:
        edge_index (torch.Tensor): All known positives ``[2, E]`` (each rank
            may also pass only the edges of its own sources: the others are
            ignored).
        num_src_nodes (int): Number of source nodes (all ranks).
        num_dst_nodes (int, optional): Number of destination nodes.
            (default: :obj:`num_src_nodes`)
        rank (int): This rank.
        world_size (int): The number of ranks.
        **kwargs: :obj:`undirected`, :obj:`exclude_self` and
            :obj:`extra_positives`, as in :class:`PositiveIndex`.
    """

    def __init__(
        self,
        edge_index: Tensor,
        num_src_nodes: int,
        num_dst_nodes: Optional[int] = None,
        *,
        rank: int,
        world_size: int,
        **kwargs: Any,
    ):
        self.world_size = check_positive_int(world_size, 'world_size')
        self.rank = check_int(rank, 'rank', minimum=0, maximum=world_size - 1)
        pairs, num_src_nodes, num_dst_nodes = positive_pairs(
            edge_index, num_src_nodes, num_dst_nodes, **kwargs
        )
        undirected = kwargs.get('undirected', False)
        exclude_self = kwargs.get('exclude_self', False)
        own = pairs[0] % world_size == rank
        pairs = pairs[:, own]
        self.num_src_nodes = num_src_nodes
        self.num_dst_nodes = num_dst_nodes
        self.num_local = len(range(rank, num_src_nodes, world_size))
        local = torch.stack(
            [torch.div(pairs[0], world_size, rounding_mode='floor'), pairs[1]]
        )
        if exclude_self:
            mine = torch.arange(
                rank, num_src_nodes, world_size, device=pairs.device
            )
            loops = torch.stack(
                [torch.div(mine, world_size, rounding_mode='floor'), mine]
            )
            local = torch.cat([local, loops], dim=1)
        self.undirected, self.exclude_self = undirected, exclude_self
        # Local ids need no further check: they are in range by construction.
        self.local = PositiveIndex(
            local, max(self.num_local, 1), num_dst_nodes
        )

    # ------------------------------------------------------------ routing
    def owner(self, src: Tensor) -> Tensor:
        r"""The rank that owns each source."""
        return src % self.world_size

    def owns(self, src: Tensor) -> Tensor:
        return self.owner(src) == self.rank

    def to_local(self, src, name: str = 'src') -> Tensor:
        r"""Local ids of sources this rank owns; a :class:`ValueError`
        naming the first source it does not own otherwise."""
        check_index_tensor(src, name)
        check_in_range(src, name, self.num_src_nodes)
        src = src.long()
        foreign = ~self.owns(src)
        if bool(foreign.any()):
            bad = int(src[foreign].view(-1)[0])
            raise ValueError(
                f"'{name}' holds source node {bad}, owned by rank "
                f'{bad % self.world_size}, not by rank {self.rank}: route '
                f'positives to their owner (owner(src))'
            )
        return torch.div(src, self.world_size, rounding_mode='floor')

    # ------------------------------------------------------------ queries
    def contains(self, src: Tensor, dst: Tensor) -> Tensor:
        return self.local.contains(self.to_local(src), dst)

    def degree(self, src: Tensor) -> Tensor:
        return self.local.degree(self.to_local(src))

    def num_candidates(self, src: Tensor) -> Tensor:
        return self.num_dst_nodes - self.degree(src)

    def neighbors(self, src: Tensor) -> Tuple[Tensor, Tensor]:
        return self.local.neighbors(self.to_local(src))

    def sample_complement(
        self, src: Tensor, generator: Optional[torch.Generator] = None
    ) -> Tensor:
        local = self.to_local(src)
        count = self.num_dst_nodes - self.local.degree(local)
        if count.numel() > 0 and bool((count <= 0).any()):
            bad = int(src[count <= 0].view(-1)[0])
            raise ValueError(
                f"node {bad} in 'src' is a known positive of all "
                f'{self.num_dst_nodes} destination nodes; no negative exists'
            )
        return self.local.sample_complement_unchecked(local, generator)

    @property
    def num_edges(self) -> int:
        r"""Positives held by this rank (loops of ``exclude_self``
        included)."""
        return self.local.num_edges

    @property
    def nbytes(self) -> int:
        return self.local.nbytes

    def to(self, device) -> 'ShardedPositiveIndex':
        self.local.to(device)
        return self

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(rank={self.rank}, '
            f'world_size={self.world_size}, num_edges={self.num_edges}, '
            f'num_src_nodes={self.num_src_nodes}, '
            f'num_dst_nodes={self.num_dst_nodes})'
        )
