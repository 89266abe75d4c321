r"""Memory-based negatives: per-user caches of hard negatives and a queue
of recent items."""

from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp._validate import (
    check_positive_int,
    check_temperature,
)
from torch_geometric_negsamp.sampler.base import NegativeSampler
from torch_geometric_negsamp.select._utils import (
    gumbel,
    make_generator,
)


class NegativeCache:
    r"""Per-source caches of hard negatives, refreshed by importance
    sampling, after Zhang et al. (2019), "NSCaching: Simple and Efficient
    Negative Sampling for Knowledge Graph Embedding" (ICDE).

    Every source :math:`u` keeps :math:`N_1` negatives. :meth:`sample` draws
    from the cache uniformly; :meth:`update` merges the cache with
    :math:`N_2` fresh candidates from a fitted static :obj:`sampler` and keeps
    :math:`N_1` of the :math:`N_1 + N_2` without replacement with probability
    :math:`\mathrm{softmax}(s / \tau)` of the current scores. Since every
    candidate comes from the (filtered) sampler, a cache never holds a known
    positive, and its size never changes.

    Args:
        sampler (NegativeSampler): A fitted static sampler (filtered, to keep
            positives out of the caches).
        num_sources (int): Number of sources (users).
        cache_size (int, optional): :math:`N_1`. (default: :obj:`50`)
        num_fresh (int, optional): :math:`N_2`. (default: :obj:`50`)
        temperature (float, optional): :math:`\tau`. (default: :obj:`1.0`)
        edge_type (tuple, optional): The sampler's edge type.
        seed (int, optional): Seed of the cache's generator.
        generator (torch.Generator, optional): A generator instead.
    """

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
        if not isinstance(sampler, NegativeSampler):
            raise TypeError(
                f"'sampler' must be a NegativeSampler (got "
                f'{type(sampler).__name__})'
            )
        if not sampler.is_fitted:
            raise ValueError(
                "'sampler' must be fitted on the positives "
                "first (call 'sampler.fit(...)')"
            )
        if not sampler.filtered or sampler.on_unsatisfiable != 'raise':
            raise ValueError(
                f"'sampler' must be filtered with on_unsatisfiable='raise' so "
                f'that every cache row belongs to its source and holds no '
                f'positive (got filtered={sampler.filtered}, '
                f'on_unsatisfiable={sampler.on_unsatisfiable!r})'
            )
        self.sampler = sampler
        self.num_sources = check_positive_int(num_sources, 'num_sources')
        self.cache_size = check_positive_int(cache_size, 'cache_size')
        self.num_fresh = check_positive_int(num_fresh, 'num_fresh')
        self.temperature = check_temperature(temperature)
        self.edge_type = edge_type
        self.generator = make_generator(seed, generator)
        device = sampler.index(edge_type).device
        all_src = torch.arange(num_sources, device=device)
        self.cache = sampler.sample_negatives(
            all_src, num_neg=cache_size, edge_type=edge_type
        )

    def sample(self, src: Tensor, k: int = 1) -> Tensor:
        r"""Draws ``[B, k]`` negatives for ``src`` ``[B]`` from their caches,
        uniformly with replacement."""
        check_positive_int(k, 'k')
        rows = self.cache[src]
        col = randint_below(
            torch.full((src.numel(), k), self.cache_size, device=src.device),
            self.generator,
        )
        return rows.gather(1, col)

    @torch.no_grad()
    def update(
        self, src: Tensor, score_fn: Callable[[Tensor, Tensor], Tensor]
    ) -> None:
        r"""Refreshes the caches of the (distinct) sources ``src``.

        Args:
            src (torch.Tensor): ``[B]`` sources.
            score_fn (callable): Maps ``(src [B], items [B, C])`` to scores
                ``[B, C]`` under the current model.
        """
        src = torch.unique(src)
        fresh = self.sampler.sample_negatives(
            src, num_neg=self.num_fresh, edge_type=self.edge_type
        )
        pool = torch.cat([self.cache[src], fresh], dim=1)
        scores = score_fn(src, pool)
        if scores.shape != pool.shape:
            raise ValueError(
                f"'score_fn' must return scores of shape "
                f'{list(pool.shape)} (got {list(scores.shape)})'
            )
        # Duplicates would let an item occupy several slots: rank them last.
        sorted_pool, order = pool.sort(dim=1)
        dup = torch.zeros_like(pool, dtype=torch.bool)
        dup[:, 1:] = sorted_pool[:, 1:] == sorted_pool[:, :-1]
        dup = dup.scatter(1, order, dup)
        keys = scores.float() / self.temperature + gumbel(
            scores.shape, scores.device, self.generator
        )
        keys = keys.masked_fill(dup, float('-inf'))
        keep = keys.topk(self.cache_size, dim=1).indices
        self.cache[src] = pool.gather(1, keep)

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_sources={self.num_sources}, '
            f'cache_size={self.cache_size}, num_fresh={self.num_fresh}, '
            f'temperature={self.temperature})'
        )


class MemoryQueue:
    r"""A first-in first-out queue of recent item ids and (detached)
    embeddings, used as extra negatives as in MoCo (He et al., 2020,
    "Momentum Contrast for Unsupervised Visual Representation Learning").

    Args:
        size (int): Capacity of the queue.
        dim (int, optional): Embedding size; :obj:`None` stores ids only.
    """

    def __init__(self, size: int, dim: Optional[int] = None):
        self.size = check_positive_int(size, 'size')
        if dim is not None:
            check_positive_int(dim, 'dim')
        self.dim = dim
        self.items: Optional[Tensor] = None
        self.emb: Optional[Tensor] = None

    def __len__(self) -> int:
        return 0 if self.items is None else self.items.numel()

    @torch.no_grad()
    def push(self, items: Tensor, emb: Optional[Tensor] = None) -> None:
        r"""Appends ``items`` ``[N]`` (and ``emb`` ``[N, dim]``), dropping
        the oldest entries beyond :obj:`size`."""
        if (emb is None) != (self.dim is None):
            raise ValueError(
                "'emb' must be given exactly when the queue "
                'stores embeddings (dim is '
                f'{self.dim})'
            )
        if emb is not None and (
            emb.dim() != 2
            or emb.size(0) != items.numel()
            or emb.size(1) != self.dim
        ):
            raise ValueError(
                f"'emb' must have shape [{items.numel()}, "
                f'{self.dim}] (got {list(emb.shape)})'
            )
        items = items.view(-1)
        self.items = (
            items[-self.size :]
            if self.items is None
            else torch.cat([self.items, items])[-self.size :]
        )
        if emb is not None:
            emb = emb.detach()
            self.emb = (
                emb[-self.size :]
                if self.emb is None
                else torch.cat([self.emb, emb])[-self.size :]
            )

    def negatives(self) -> Tuple[Tensor, Optional[Tensor]]:
        r"""Returns the queued ``(items [Q], emb [Q, dim] or None)``."""
        if self.items is None:
            raise RuntimeError("the queue is empty; 'push' items first")
        return self.items, self.emb

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(size={self.size}, dim={self.dim},'
            f' len={len(self)})'
        )
