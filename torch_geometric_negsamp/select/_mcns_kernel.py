r"""The Metropolis-Hastings kernel of
:class:`~torch_geometric_negsamp.select.MCNS`: target and proposal
densities, proposals and the vectorised chain steps (arguments checked by
the selector)."""

import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from torch_geometric_negsamp._random import randint_below, uniform
from torch_geometric_negsamp._validate import (
    check_index_tensor,
    check_instance,
    check_same_device,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.select._co_interaction import CoInteractions


class MHKernel:
    r"""Target :math:`\pi_u \propto f(s(u, \cdot))` over the non-positives
    of :obj:`index` and the proposal mixing the global part (share
    :obj:`global_share`) with the user's :obj:`region` or the current
    item's :obj:`co_items` (exactly one of them given). Densities are
    float64; the runs take the chains' start items and return their states
    after every step."""

    def __init__(
        self,
        index: PositiveIndex,
        region: Optional[KHopRegion],
        co_items: Optional[CoInteractions],
        f: str,
        alpha: float,
        eps: float,
        global_share: float,
    ):
        self.index, self.region, self.co_items = index, region, co_items
        self.f, self.alpha, self.eps = f, alpha, eps
        self.global_share = global_share
        self.num_candidates = index.num_candidates()

    def to(self, device) -> 'MHKernel':
        self.index.to(device)
        for data in (self.region, self.co_items):
            if data is not None:
                data.to(device)
        self.num_candidates = self.num_candidates.to(device)
        return self

    # --------------------------------------------------------- densities
    def log_target(self, users: Tensor, items: Tensor, scores: Tensor):
        r"""Unnormalised :math:`\log \pi_u(y)`: :math:`\log f(s)`,
        :math:`-\infty` on the positives."""
        if self.f == 'power':
            out = self.alpha * scores.clamp(min=self.eps).log()
        else:
            out = F.logsigmoid(scores.clamp(min=0.0) ** self.alpha)
        hit = self.index.contains_unchecked(users, items)
        return out.masked_fill(hit, -math.inf)

    def global_density(self, users: Tensor, items: Tensor) -> Tensor:
        r"""The global density: uniform over the user's non-positives."""
        out = 1.0 / self.num_candidates[users].double()
        return out * ~self.index.contains_unchecked(users, items)

    def log_q_region(self, users: Tensor, items: Tensor) -> Tensor:
        q = self.global_density(users, items)
        if self.global_share < 1.0:
            inside = self.region.contains_unchecked(users, items)
            q = self.mix_density(q, inside, self.region.sizes()[users])
        return q.log()

    def log_q_state(self, users, current, proposed, near) -> Tensor:
        r""":math:`\log q(\text{proposed} \mid \text{current})`;
        :obj:`near`: whether the two share a user."""
        q = self.global_density(users, proposed)
        if self.global_share < 1.0:
            q = self.mix_density(q, near, self.co_items.sizes()[current])
        return q.log()

    def mix_density(self, q: Tensor, inside: Tensor, size: Tensor) -> Tensor:
        r"""The mixture of the global density :obj:`q` with the uniform
        density over a local set of :obj:`size` (:obj:`inside`: whether the
        item is in it); :obj:`q` alone where the local set is empty."""
        local = inside / size.clamp(min=1).double()
        mixed = self.global_share * q + (1 - self.global_share) * local
        return torch.where(size > 0, mixed, q)

    def log_weight_region(self, users, items, log_pi) -> Tensor:
        r""":math:`\log(\pi_u(y) / q_u(y))`: the log-ratio of a move is the
        proposal's weight less the state's. :math:`-\infty` where
        :math:`\pi_u(y) = 0`, also where the proposal never goes."""
        log_w = log_pi - self.log_q_region(users, items)
        return log_w.masked_fill(log_pi == -math.inf, -math.inf)

    def log_ratio_state(self, users, x, y, log_pi_x, log_pi_y) -> Tensor:
        r"""The log acceptance ratio of a move from :obj:`x` to :obj:`y`
        (:math:`-\infty` where :math:`\pi_u(y) = 0`)."""
        # y in N(x) if and only if x in N(y): one query serves both ways.
        near = self.co_items.contains_unchecked(x, y)
        log_a = (
            log_pi_y
            - log_pi_x
            + self.log_q_state(users, y, x, near)
            - self.log_q_state(users, x, y, near)
        )
        return log_a.masked_fill(log_pi_y == -math.inf, -math.inf)

    @staticmethod
    def scores(user_emb: Tensor, item_emb: Tensor, items: Tensor):
        # float64, so that devices agree on every acceptance decision.
        shape = (-1,) + (1,) * (items.dim() - 1) + (user_emb.size(1),)
        rows = user_emb.double().view(shape)
        return (rows * item_emb[items].double()).sum(-1)

    # ------------------------------------------------------------- draws
    def draw_global(self, users: Tensor, generator) -> Tensor:
        rank = randint_below(self.num_candidates[users], generator)
        return self.index.complement_select_unchecked(users, rank)

    def mix(self, coin, global_item, local_item) -> Tensor:
        use_local = ~coin & (local_item >= 0)
        return torch.where(use_local, local_item, global_item)

    # ------------------------------------------------------------ chains
    def start(self, users: Tensor, steps: int, gen):
        r"""The first draws of a chain: per step, the coin that picks the
        global proposal (probability :obj:`global_share`), and that global
        proposal, each ``[B, steps]``."""
        B = users.numel()
        grid = users.view(-1, 1).expand(B, steps)
        coin = uniform((B, steps), users.device, gen) < self.global_share
        return grid, coin, self.draw_global(grid, gen)

    def run_region(self, users, x, first, steps, user_emb, item_emb, gen):
        grid, coin, proposed = self.start(users, steps, gen)
        B, q_g = users.numel(), self.global_share
        if q_g < 1.0:
            local = self.region.sample_intermediate_unchecked(grid, gen)
            proposed = self.mix(coin, proposed, local)
        log_u = uniform((B, steps), users.device, gen).log()
        # An independence proposal: the ratio is w(y) / w(x) with
        # w = pi / q, so every weight is computed at once.
        items = torch.cat([x.view(-1, 1), proposed], dim=1)
        grid = users.view(-1, 1).expand_as(items)
        scores = self.scores(user_emb, item_emb, items)
        log_pi = self.log_target(grid, items, scores)
        log_w = self.log_weight_region(grid, items, log_pi)
        w_x = log_w[:, 0]
        kept = torch.empty_like(proposed)
        accepted = torch.empty_like(coin)
        active = torch.arange(steps, device=users.device) >= first.view(-1, 1)
        for t in range(steps):
            ok = active[:, t] & (log_u[:, t] < log_w[:, t + 1] - w_x)
            x = torch.where(ok, proposed[:, t], x)
            w_x = torch.where(ok, log_w[:, t + 1], w_x)
            kept[:, t], accepted[:, t] = x, ok
        return x, kept, accepted, active

    def run_state(self, users, x, first, steps, user_emb, item_emb, gen):
        _, coin, global_item = self.start(users, steps, gen)
        B, q_g = users.numel(), self.global_share
        log_u = uniform((B, steps), users.device, gen).log()
        log_pi_x = self.log_target(
            users, x, self.scores(user_emb, item_emb, x)
        )
        kept = torch.empty_like(global_item)
        accepted = torch.empty_like(coin)
        active = torch.arange(steps, device=users.device) >= first.view(-1, 1)
        for t in range(steps):
            y = global_item[:, t]
            if q_g < 1.0:
                local = self.co_items.sample_unchecked(x, gen)
                y = self.mix(coin[:, t], y, local)
            log_pi_y = self.log_target(
                users, y, self.scores(user_emb, item_emb, y)
            )
            log_a = self.log_ratio_state(users, x, y, log_pi_x, log_pi_y)
            ok = active[:, t] & (log_u[:, t] < log_a)
            x = torch.where(ok, y, x)
            log_pi_x = torch.where(ok, log_pi_y, log_pi_x)
            kept[:, t], accepted[:, t] = x, ok
        return x, kept, accepted, active


def proposal_data(
    proposal: str,
    index: PositiveIndex,
    region: Optional[KHopRegion],
    edge_index: Optional[Tensor],
    memory_budget: Optional[int],
) -> Tuple[Optional[KHopRegion], Optional[CoInteractions]]:
    r"""Checks what :obj:`proposal` needs (a region, or the training
    interactions and a memory budget) and returns ``(region, co_items)``,
    one of them :obj:`None`."""
    num_users, num_items = index.num_src_nodes, index.num_dst_nodes
    if proposal == 'state':
        if region is not None:
            raise ValueError(
                "'region' is used by proposal='region' only (got a "
                "region with proposal='state')"
            )
        if edge_index is None:
            raise ValueError(
                "'edge_index' (the training interactions) must be given "
                "for proposal='state' (got None)"
            )
        check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
        check_same_device(edge_index, 'edge_index', index.device, "'index'")
        co_items = CoInteractions(
            edge_index, num_users, num_items, memory_budget
        )
        return None, co_items
    if edge_index is not None or memory_budget is not None:
        which = 'edge_index' if edge_index is not None else 'memory_budget'
        raise ValueError(
            f"'{which}' is used by proposal='state' only (got it with "
            f"proposal='region')"
        )
    check_instance(region, 'region', KHopRegion)
    if (region.num_users, region.num_items) != (num_users, num_items):
        raise ValueError(
            f"'region' must have the {num_users} users and {num_items} "
            f"items of 'index' (got {region.num_users} and "
            f'{region.num_items})'
        )
    check_same_device(region, 'region', index.device, "'index'")
    return region, None
