r"""Negative strategies of the training loop: a static sampler, or a static
candidate pool plus a model-aware selector."""

import math
from typing import Dict, List, NamedTuple, Optional, Type

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp.sampler import (
    SAMPLERS,
    NegativeSampler,
    resolve_sampler,
)
from torch_geometric_negsamp.select import (
    DNS,
    InBatchNegatives,
    MemoryQueue,
    MixGCF,
    NegativeCache,
    SoftmaxSelector,
    item_log_frequency,
)


class Negatives(NamedTuple):
    r"""What a strategy hands the loss: ``emb`` ``[B, k, D]`` negative item
    embeddings (pooled), ``ids`` ``[B, k]`` their item ids (:obj:`None` for
    synthetic ones), and the optional sampled-softmax extras."""

    emb: Tensor
    ids: Optional[Tensor]
    log_q_pos: Optional[Tensor] = None
    log_q_neg: Optional[Tensor] = None
    accidental_hits: Optional[Tensor] = None
    pos_scores: Optional[Tensor] = None
    neg_scores: Optional[Tensor] = None


class Context(NamedTuple):
    r"""One training step's view of the model: the pooled user and item
    embeddings and, for strategies that need them, the list of the
    :math:`L + 1` per-layer embeddings ``[U + I, d]``."""

    user_emb: Tensor
    item_emb: Tensor
    layers: Optional[List[Tensor]]


class Strategy:
    r"""Base class: turns a batch of positives into negatives."""

    needs_layers = False
    forces_loss: Optional[str] = None

    def __init__(
        self,
        train_index: Tensor,
        num_users: int,
        num_items: int,
        num_neg: int,
        candidates: int,
        base: str = 'uniform',
        temperature: float = 1.0,
        alpha: float = 0.75,
        combine=None,
    ):
        self.num_users, self.num_items = num_users, num_items
        self.num_neg, self.candidates = num_neg, candidates
        self.temperature = temperature
        kwargs = {'alpha': alpha} if base == 'popularity' else {}
        self.sampler: NegativeSampler = resolve_sampler(base, **kwargs)
        self.sampler.fit(train_index, (num_users, num_items))
        # Every training user is checked once here, so that each step can
        # draw without per-call checks (and their host syncs on a GPU):
        self.sampler.check_sources(torch.unique(train_index[0]))
        self.combine = combine

    def reseed(self, seed: int) -> None:
        self.sampler.reseed(seed)

    def to(self, device) -> 'Strategy':
        self.sampler.to(device)
        return self

    def state_dict(self) -> Dict[str, Tensor]:
        return {}

    def load_state_dict(self, state: Dict[str, Tensor]) -> None:
        pass

    def negatives(self, users: Tensor, pos: Tensor, ctx: Context) -> Negatives:
        raise NotImplementedError


class StaticStrategy(Strategy):
    r"""Negatives drawn by a static sampler (uniform, popularity, ...)."""

    def negatives(self, users, pos, ctx):
        ids = self.sampler.sample_trusted(users, self.num_neg)
        return Negatives(ctx.item_emb[ids], ids)


class DNSStrategy(Strategy):
    r"""The top-``k`` of ``candidates`` filtered uniform candidates."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.selector = DNS(self.num_neg)

    def _scores(self, users, cand, ctx):
        with torch.no_grad():
            return (ctx.user_emb[users].unsqueeze(1) * ctx.item_emb[cand]).sum(
                -1
            )

    def negatives(self, users, pos, ctx):
        cand = self.sampler.sample_trusted(users, self.candidates)
        ids = self.selector.select(cand, self._scores(users, cand, ctx))
        return Negatives(ctx.item_emb[ids], ids)


class SoftmaxStrategy(DNSStrategy):
    r"""``k`` of ``candidates`` drawn by softmax(score / temperature)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.selector = SoftmaxSelector(
            self.num_neg, self.temperature, generator=torch.Generator()
        )

    def reseed(self, seed):
        super().reseed(seed)
        self.selector.generator.manual_seed(seed + 1)

    def negatives(self, users, pos, ctx):
        cand = self.sampler.sample_trusted(users, self.candidates)
        index, _ = self.selector(self._scores(users, cand, ctx))
        ids = cand.gather(1, index)
        return Negatives(ctx.item_emb[ids], ids)


class MixGCFStrategy(Strategy):
    r"""MixGCF synthetic negatives from ``k`` pools of ``candidates``."""

    needs_layers = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.selector = MixGCF(self.combine, generator=torch.Generator())

    def reseed(self, seed):
        super().reseed(seed)
        self.selector.generator.manual_seed(seed + 1)

    def negatives(self, users, pos, ctx):
        B = users.numel()
        cand = self.sampler.sample_trusted(
            users, self.num_neg * self.candidates
        )
        layers, U = ctx.layers, self.num_users
        emb = self.selector.synthesize(
            torch.stack([layer[users] for layer in layers], dim=1),
            torch.stack([layer[U + pos] for layer in layers], dim=1),
            [layer[U:] for layer in layers],
            cand.view(B, self.num_neg, self.candidates),
        )
        return Negatives(emb, None)


class InBatchStrategy(Strategy):
    r"""The batch's other positive items (plus ``candidates`` shared
    uniform items), scored with sampled softmax, accidental hits masked and
    the logQ correction applied."""

    forces_loss = 'softmax'

    def __init__(self, train_index, num_users, num_items, *args, **kwargs):
        super().__init__(train_index, num_users, num_items, *args, **kwargs)
        self.selector = InBatchNegatives(
            self.sampler.index(),
            item_log_frequency(train_index, num_items),
            num_items,
        )
        self.generator = torch.Generator()

    def reseed(self, seed):
        super().reseed(seed)
        self.generator.manual_seed(seed + 1)

    def to(self, device):
        super().to(device)
        self.selector.item_log_q = self.selector.item_log_q.to(device)
        return self

    def negatives(self, users, pos, ctx):
        pool = pool_emb = None
        if self.candidates > 0:
            pool = randint_below(
                torch.full(
                    (self.candidates,), self.num_items, device=users.device
                ),
                self.generator,
            )
            pool_emb = ctx.item_emb[pool]
        out = self.selector(
            users, pos, ctx.user_emb[users], ctx.item_emb[pos], pool, pool_emb
        )
        return Negatives(
            None,
            None,
            out.log_q_pos,
            out.log_q_neg,
            out.accidental_hits,
            out.pos,
            out.neg,
        )


class CacheStrategy(Strategy):
    r"""NSCaching-style per-user caches of ``candidates`` hard negatives,
    refreshed every step with ``candidates`` fresh uniform ones."""

    def __init__(self, train_index, num_users, num_items, *args, **kwargs):
        super().__init__(train_index, num_users, num_items, *args, **kwargs)
        self.cache = NegativeCache(
            self.sampler,
            num_users,
            cache_size=self.candidates,
            num_fresh=self.candidates,
            temperature=self.temperature,
            generator=torch.Generator(),
        )

    def reseed(self, seed):
        super().reseed(seed)
        self.cache.generator.manual_seed(seed + 1)

    def to(self, device):
        super().to(device)
        self.cache.cache = self.cache.cache.to(device)
        return self

    def state_dict(self):
        return {'cache': self.cache.cache}

    def load_state_dict(self, state):
        self.cache.cache = state['cache'].to(self.cache.cache.device)

    def negatives(self, users, pos, ctx):
        user_emb, item_emb = ctx.user_emb.detach(), ctx.item_emb.detach()

        def score_fn(src, items):
            return (user_emb[src].unsqueeze(1) * item_emb[items]).sum(-1)

        self.cache.update(users, score_fn)
        ids = self.cache.sample(users, self.num_neg)
        return Negatives(ctx.item_emb[ids], ids)


class QueueStrategy(Strategy):
    r"""A MoCo-style queue of the ``candidates`` most recent positive items
    as negatives for every user of the batch, re-embedded with the current
    model, scored with sampled softmax, accidental hits (known positives of
    the user) masked and the popularity logQ correction applied."""

    forces_loss = 'softmax'

    def __init__(self, train_index, num_users, num_items, *args, **kwargs):
        super().__init__(train_index, num_users, num_items, *args, **kwargs)
        self.queue = MemoryQueue(max(self.candidates, 1))
        self.log_q = item_log_frequency(train_index, num_items)

    def to(self, device):
        super().to(device)
        self.log_q = self.log_q.to(device)
        return self

    def state_dict(self):
        return {} if self.queue.items is None else {'queue': self.queue.items}

    def load_state_dict(self, state):
        self.queue.items = state.get('queue')

    def negatives(self, users, pos, ctx):
        if len(self.queue) == 0:
            self.queue.push(pos)
        items, _ = self.queue.negatives()
        items = items.to(users.device)
        user_emb = ctx.user_emb[users]
        neg = user_emb @ ctx.item_emb[items].t()  # [B, Q]
        hits = self.sampler.index().contains(
            users.view(-1, 1), items.view(1, -1)
        )
        hits |= items.view(1, -1) == pos.view(-1, 1)
        log_q = self.log_q + math.log(items.numel())
        pos_scores = (user_emb * ctx.item_emb[pos]).sum(-1)
        self.queue.push(pos)
        return Negatives(
            None,
            None,
            log_q[pos].to(neg.dtype),
            log_q[items].to(neg.dtype).expand_as(neg),
            hits,
            pos_scores,
            neg,
        )


STRATEGIES: Dict[str, Type[Strategy]] = {
    'dns': DNSStrategy,
    'softmax': SoftmaxStrategy,
    'mixgcf': MixGCFStrategy,
    'inbatch': InBatchStrategy,
    'cache': CacheStrategy,
    'queue': QueueStrategy,
}


def strategy_names() -> List[str]:
    r"""All names accepted by :func:`build_strategy`."""
    return sorted(SAMPLERS) + sorted(STRATEGIES)


def build_strategy(
    name: str, train_index: Tensor, num_users: int, num_items: int, **kwargs
) -> Strategy:
    r"""Builds the strategy called :obj:`name`: a registered static sampler
    (e.g. :obj:`"uniform"`, :obj:`"popularity"`) or one of
    :obj:`"dns"`, :obj:`"softmax"`, :obj:`"mixgcf"`, :obj:`"inbatch"`,
    :obj:`"cache"`, :obj:`"queue"` (candidate pools from the uniform
    sampler)."""
    key = name.lower().replace('-', '').replace('_', '')
    if key in STRATEGIES:
        return STRATEGIES[key](train_index, num_users, num_items, **kwargs)
    if key in SAMPLERS:
        return StaticStrategy(
            train_index,
            num_users,
            num_items,
            base=key,
            **{k: v for k, v in kwargs.items() if k != 'base'},
        )
    raise ValueError(
        f'unknown sampler {name!r}; choose from {strategy_names()}'
    )


__all__ = [
    'Negatives',
    'Context',
    'Strategy',
    'build_strategy',
    'strategy_names',
]
