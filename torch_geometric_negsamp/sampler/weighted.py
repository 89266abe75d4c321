r"""Samplers whose proposal is a fixed weight per destination node."""

from typing import Dict, NamedTuple, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._random import draw_from_cdf, randint_below
from torch_geometric_negsamp._validate import check_request_size
from torch_geometric_negsamp.index import PositiveIndex, row_upper_bound
from torch_geometric_negsamp.sampler.base import Key, NegativeSampler


class _Weights(NamedTuple):
    units: Tensor  # [N] int64 weight units per destination
    cdf: Tensor  # [N] int64 inclusive cumulative sum of the units
    # [E] int64, aligned with the index's keys: where the i-th positive of
    # its source would start once the source's positives are removed.
    masked_start: Tensor
    # [S] int64 units of each source's non-positives (its valid mass), kept
    # so that the per-batch feasibility check is one gather:
    valid: Tensor
    steps: int  # binary-search steps over the longest row


class WeightedSampler(NegativeSampler):
    r"""Base class of samplers that propose destination :math:`v` with
    probability proportional to a fixed weight :math:`w_v`, filtered
    exactly:

    .. math::
        P(v \mid u) = \frac{w_v \, \mathbb{1}[(u, v) \notin \mathcal{E}]}
        {\sum_{v' : (u, v') \notin \mathcal{E}} w_{v'}}.

    The weights are held as ``int64`` units
    (:func:`~torch_geometric_negsamp._random.quantize_weights`: scaled by
    their maximum, total at most :math:`2^{53}`), so every sum and every
    draw is exact integer arithmetic: no weight can overflow, a zero weight
    is never drawn and no draw is clamped into range. A filtered draw tries
    :obj:`max_trials` rounds of rejection, then draws the rest exactly by
    inverting the *masked* cumulative distribution of its source: the
    source's positives are removed by a binary search over its own
    positives, so the exact draw costs :math:`O(\log \deg(u))`, not
    :math:`O(|\mathcal{V}|)`.

    Subclasses implement :meth:`_units` (the weight units of one fitted edge
    type).
    """

    def __init__(self, mode='triplet', amount=1, **kwargs):
        super().__init__(mode, amount, **kwargs)
        self._weights: Dict[Key, _Weights] = {}

    def _units(self, key: Key, edge_index: Tensor, index: PositiveIndex):
        raise NotImplementedError

    def _fit_state(self, key, edge_index, index) -> _Weights:
        # Weights, units and their cumulative sum per destination:
        check_request_size(
            index.num_dst_nodes,
            'num_nodes',
            element_size=32,
            device=index.device,
            what='per-destination weights',
        )
        units = self._units(key, edge_index, index)
        cdf = units.cumsum(0)
        src, dst = index.edges()
        pos_units = units[dst]
        # Units of the positives of the same source before each positive:
        run = torch.cat([pos_units.new_zeros(1), pos_units.cumsum(0)])
        start = index.row_bounds_unchecked(src)[0]
        before = run[:-1] - run[start]
        masked_start = cdf[dst] - pos_units - before
        blocked = pos_units.new_zeros(index.num_src_nodes)
        blocked.index_add_(0, src, pos_units)
        total = cdf[-1] if cdf.numel() > 0 else cdf.new_zeros(())
        valid = total - blocked
        steps = 0
        if src.numel() > 0:
            longest = int(
                torch.unique_consecutive(src, return_counts=True)[1].max()
            )
            steps = longest.bit_length()
        return _Weights(units, cdf, masked_start, valid, steps)

    def _set_fit_state(self, state) -> None:
        self._weights = dict(state)

    def _move_state(self, device) -> None:
        self._weights = {
            key: _Weights(
                w.units.to(device),
                w.cdf.to(device),
                w.masked_start.to(device),
                w.valid.to(device),
                w.steps,
            )
            for key, w in self._weights.items()
        }

    # ------------------------------------------------------------- masses
    def _valid_mass(self, src: Tensor, index: PositiveIndex, key) -> Tensor:
        return self._weights[key].valid[src.long()]

    def _valid_mass_all(self, src, index, key) -> Tensor:
        return self._weights[key].cdf[-1].expand_as(src)

    # -------------------------------------------------------------- draws
    def _propose(self, src, num: int, index, key, gen) -> Tensor:
        return draw_from_cdf(self._weights[key].cdf, num, gen)

    def _sample_exact(self, src: Tensor, index, key, gen) -> Tensor:
        w = self._weights[key]
        x = randint_below(w.valid[src], gen)  # a position in the masked units
        if w.masked_start.numel() == 0:
            return torch.searchsorted(w.cdf, x, right=True)
        start, end = index.row_bounds_unchecked(src)
        # j: the first positive of the row whose masked start exceeds x
        # (a binary search per source over its own positives only).
        lo = row_upper_bound(w.masked_start, start, end, x, w.steps)
        zero = torch.zeros_like(lo)
        # Units of the row's positives before j, added back to x, land x in
        # a non-positive destination of positive weight:
        has = lo < end
        j = torch.where(has, lo, zero)
        dst_j = index.keys[j] - src * index.num_dst_nodes
        dst_j = torch.where(has, dst_j, zero)
        skipped = w.cdf[dst_j] - w.units[dst_j] - w.masked_start[j]
        # Past the last positive, all of the row's positive units are skipped:
        blocked = w.cdf[-1] - w.valid[src]
        skipped = torch.where(has, skipped, blocked)
        return torch.searchsorted(w.cdf, x + skipped, right=True)

    def _log_prob(self, src, dst, index, key) -> Tensor:
        w = self._weights[key]
        units = w.units[dst].double()
        return torch.log(units) - torch.log(w.cdf[-1].double())

    def _static_dst(self, num_samples, num_nodes, gen) -> Optional[Tensor]:
        cdfs = [w.cdf for w in self._weights.values()]
        return self._draw_static(cdfs, num_samples, num_nodes, gen)

    def _draw_static(self, cdfs, num_samples, num_nodes, gen):
        if not cdfs:
            raise RuntimeError(
                f"'{self.__class__.__name__}' needs 'fit(data)' before it "
                f'can draw weighted nodes'
            )
        # PyG's hook does not say which edge type it samples for: use the
        # weights of that many destination nodes, if they are unique.
        match = [
            c for c in cdfs if num_nodes is None or c.numel() == num_nodes
        ]
        if not match or any(
            not torch.equal(match[0].cpu(), c.cpu()) for c in match[1:]
        ):
            raise ValueError(
                f"'{self.__class__.__name__}.sample' cannot tell which "
                f'weights apply to {num_nodes} destination nodes; use '
                f'torch_geometric_negsamp.loader.LinkNeighborLoader, which '
                f'passes the edge type'
            )
        return draw_from_cdf(match[0].cpu(), num_samples, gen)
