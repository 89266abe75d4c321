r"""The co-interaction sets of the items (rows of :math:`R^\top R`), for the
state-dependent proposal of :class:`~torch_geometric_negsamp.select.MCNS`,
computed by a :class:`~torch_geometric_negsamp.region.KHopRegion`."""

from typing import Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_in_range,
    check_index_tensor,
)
from torch_geometric_negsamp.region import KHopRegion


class CoInteractions:
    r"""For every item :math:`x`, the set

    .. math::
        \mathcal{N}(x) = \{ y \neq x : \exists w, (w, x) \in E,
        (w, y) \in E \},

    the items that share a user with :math:`x` (the non-zeros of row
    :math:`x` of :math:`R^\top R`, the diagonal left out; on a homogeneous
    graph, of :math:`A^\top A`). The relation is symmetric.

    The sets are the intermediate regions (``k = 2``, ``adjacent_hops =
    1``) of a directed graph with three layers of nodes: the items
    :math:`x`, the users :math:`w` and a copy :math:`y'` of every item,
    with the edges :math:`x \to w` and :math:`w \to y'` for every
    interaction :math:`(w, x)`, :math:`(w, y)`. The nodes within two edges of
    :math:`x` are :math:`x`, its users and the copies of its co-items; the
    pair :math:`(x, x')` is handed in as an extra positive, so that the
    region leaves :math:`x` out. The rows of users and copies stay empty (no
    edge leaves a copy), so the build costs what the item rows cost, and
    draws and membership are the region's exact ones.

    Args:
        edge_index (torch.Tensor): Interactions ``[2, E]`` (user, item).
        num_users (int): Number of users (sources).
        num_items (int): Number of items (destinations).
        memory_budget (int, optional): Passed to the region's build.
    """

    def __init__(
        self,
        edge_index: Tensor,
        num_users: int,
        num_items: int,
        memory_budget: Optional[int] = None,
    ):
        check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
        # Ids are checked here: the layers shift them, so that an id out of
        # range would land in another layer instead of raising.
        for row, size, kind in (
            (0, num_users, 'user'),
            (1, num_items, 'item'),
        ):
            check_in_range(
                edge_index[row],
                f'edge_index[{row}]',
                size,
                what=f'{kind} id',
                unit=f'{kind}s',
            )
        self.num_users, self.num_items = num_users, num_items
        self.offset = num_items + num_users  # first copy node
        user, item = edge_index.long()
        src = torch.cat([item, num_items + user])
        dst = torch.cat([num_items + user, self.offset + item])
        items = torch.arange(num_items, device=edge_index.device)
        self.region = KHopRegion(
            torch.stack([src, dst]),
            2 * num_items + num_users,
            k=2,
            adjacent_hops=1,
            extra_positives=torch.stack([items, self.offset + items]),
            memory_budget=memory_budget,
        )
        self._sizes = self.region.sizes()[:num_items].clone()

    @property
    def device(self) -> torch.device:
        return self.region.device

    def sizes(self) -> Tensor:
        r""":math:`|\mathcal{N}(x)|` of every item, ``[num_items]``."""
        return self._sizes

    def contains_unchecked(self, x: Tensor, y: Tensor) -> Tensor:
        r""":obj:`True` where :math:`y \in \mathcal{N}(x)` (item ids in
        range; shapes broadcast)."""
        return self.region.contains_unchecked(x, self.offset + y)

    def sample_unchecked(
        self, x: Tensor, generator: Optional[torch.Generator] = None
    ) -> Tensor:
        r"""One item uniform in :math:`\mathcal{N}(x)` for every entry of
        :obj:`x`; :obj:`-1` where the set is empty."""
        node = self.region.sample_intermediate_unchecked(x, generator)
        return torch.where(node >= 0, node - self.offset, -1)

    @property
    def nbytes(self) -> int:
        return self.region.nbytes + self._sizes.numel() * 8

    def to(self, device) -> 'CoInteractions':
        self.region.to(device)
        self._sizes = self._sizes.to(device)
        return self
