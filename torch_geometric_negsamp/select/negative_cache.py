r"""Per-source caches of hard negatives (NSCaching)."""

from typing import Any, Callable, Dict, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._random import gumbel, randint_below
from torch_geometric_negsamp._validate import (
    check_ids_in_range,
    check_index_tensor,
    check_positive_int,
    check_request_size,
    check_returned,
    check_temperature,
)
from torch_geometric_negsamp.sampler.base import NegativeSampler
from torch_geometric_negsamp.select._checks import (
    check_negative_rows,
    check_source_sampler,
)
from torch_geometric_negsamp.select.selector import Selector


class NegativeCache(Selector):
    r"""Per-source caches of hard negatives, refreshed by importance
    sampling, after Zhang et al. (2019), "NSCaching: Simple and Efficient
    Negative Sampling for Knowledge Graph Embedding" (ICDE).

    Every source :math:`u` keeps :math:`N_1` negatives (the buffer
    :obj:`cache` ``[num_sources, N_1]``). :meth:`sample` draws from the
    cache uniformly; :meth:`update` merges the cache with :math:`N_2` fresh
    candidates from a fitted static :obj:`sampler` and keeps :math:`N_1` of
    the :math:`N_1 + N_2` without replacement with probability

    .. math::
        p(v \mid u) = \mathrm{softmax}_v(s_{uv} / \tau)

    of the current scores (Gumbel-top-:math:`N_1`, duplicates ranked last).
    Since every candidate comes from the (filtered) sampler, a cache never
    holds a known positive, and its size never changes.

    The cache's generator drives :meth:`sample` and the refresh; the fresh
    candidates come from the sampler's own stream (restart it with
    ``sampler.reseed(seed)``). :meth:`to` moves the sampler along with the
    caches. A loaded :meth:`state_dict` is checked: ids in range, no known
    positive.

    Args:
        sampler (NegativeSampler): A fitted static sampler, filtered with
            :obj:`on_unsatisfiable="raise"` (to keep positives out of the
            caches).
        num_sources (int): Number of sources (users) :math:`U`, at most the
            sampler's number of source nodes; sources are ``0 .. U - 1``.
        cache_size (int, optional): :math:`N_1`. (default: :obj:`50`)
        num_fresh (int, optional): :math:`N_2`. (default: :obj:`50`)
        temperature (float, optional): :math:`\tau > 0`.
            (default: :obj:`1.0`)
        edge_type (tuple, optional): The sampler's edge type, for
            heterogeneous data. (default: :obj:`None`)
        seed, generator (optional): The random stream of the cache's draws
            and refreshes, as in
            :class:`~torch_geometric_negsamp.select.Selector`.
    """

    stochastic = True

    def __init__(
        self,
        sampler: NegativeSampler,
        num_sources: int,
        cache_size: int = 50,
        num_fresh: int = 50,
        temperature: float = 1.0,
        edge_type=None,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__(seed, generator)
        index = check_source_sampler(sampler, num_sources, edge_type)
        num_sources = int(num_sources)
        self.sampler = sampler
        self.num_sources = num_sources
        self.cache_size = check_positive_int(cache_size, 'cache_size')
        self.num_fresh = check_positive_int(num_fresh, 'num_fresh')
        self.temperature = check_temperature(temperature)
        self.edge_type = edge_type
        check_request_size(
            num_sources * self.cache_size,
            'cache_size',
            device=index.device,
            what='caches',
        )
        all_src = torch.arange(num_sources, device=index.device)
        cache = sampler.sample_negatives(
            all_src, num_neg=self.cache_size, edge_type=edge_type
        )
        self.register_buffer('cache', cache)

    def _move_state(self, fn) -> None:
        index = self.sampler.index(self.edge_type)
        self.sampler.to(self._target_device(fn, index.device))

    def _check_src(self, src: Tensor) -> None:
        check_index_tensor(src, 'src', dim=1)
        self._check_devices(src=src)
        check_ids_in_range([('src', src, self.num_sources, 'source')])

    def sample(self, src: Tensor, k: int = 1) -> Tensor:
        r"""Draws ``[B, k]`` negatives for the sources ``src`` ``[B]`` (in
        ``[0, num_sources)``) from their caches, uniformly with
        replacement."""
        k = check_positive_int(k, 'k')
        self._check_src(src)
        check_request_size(src.numel() * k, 'k', device=src.device)
        rows = self.cache[src]
        col = randint_below(
            torch.full((src.numel(), k), self.cache_size, device=src.device),
            self.get_generator(),
        )
        return rows.gather(1, col)

    @torch.no_grad()
    def update(
        self, src: Tensor, score_fn: Callable[[Tensor, Tensor], Tensor]
    ) -> None:
        r"""Refreshes the caches of the (distinct) sources ``src``.

        Args:
            src (torch.Tensor): ``[B]`` sources in ``[0, num_sources)``.
            score_fn (callable): Maps ``(src [S], items [S, C])`` to finite
                floating-point scores ``[S, C]`` under the current model
                (:math:`S` distinct sources, :math:`C = N_1 + N_2`).
        """
        self._check_src(src)
        if not callable(score_fn):
            raise TypeError(
                f"'score_fn' must be callable (got {type(score_fn).__name__})"
            )
        src = torch.unique(src)
        if src.numel() == 0:
            return
        fresh = self.sampler.sample_negatives(
            src, num_neg=self.num_fresh, edge_type=self.edge_type
        )
        candidates = torch.cat([self.cache[src], fresh], dim=1)
        scores = check_returned(
            score_fn(src, candidates),
            'score_fn',
            candidates.shape,
            candidates.device,
        )
        if not bool(torch.isfinite(scores).all()):
            bad = scores[~torch.isfinite(scores)][0].item()
            raise ValueError(
                f"'score_fn' must return finite scores (got {bad} among them)"
            )
        # Duplicates would let an item occupy several slots: rank them last.
        sorted_cand, order = candidates.sort(dim=1)
        dup = torch.zeros_like(candidates, dtype=torch.bool)
        dup[:, 1:] = sorted_cand[:, 1:] == sorted_cand[:, :-1]
        dup = dup.scatter(1, order, dup)
        keys = scores.float() / self.temperature + gumbel(
            scores.shape, scores.device, self.get_generator(), torch.double
        )
        keys = keys.masked_fill(dup, float('-inf'))
        keep = keys.topk(self.cache_size, dim=1).indices
        self.cache[src] = candidates.gather(1, keep)

    def _check_state(self, state: Dict[str, Any]) -> None:
        if 'cache' not in state:
            return
        check_negative_rows(
            state['cache'],
            "state_dict['cache']",
            self.sampler.index(self.edge_type),
            self.num_sources,
        )

    def extra_repr(self) -> str:
        return (
            f'num_sources={self.num_sources}, '
            f'cache_size={self.cache_size}, num_fresh={self.num_fresh}, '
            f'temperature={self.temperature}'
        )
