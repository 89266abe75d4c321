r"""Negative strategies of the training loop: a static sampler, or a static
candidate pool plus a model-aware selector (the strategies registered in
:obj:`STRATEGIES`), and :func:`build_strategy`, which builds one by
name."""

import math
from typing import Any, List, Mapping

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp._validate import check_instance
from torch_geometric_negsamp.sampler import SAMPLERS
from torch_geometric_negsamp.select import (
    DNS,
    HardnessSchedule,
    InBatchNegatives,
    MemoryQueue,
    MixGCF,
    NegativeCache,
    Selector,
    SoftmaxSelector,
    item_log_frequency,
)

# Registers the strategies 'ahns', 'dens' and 'srns':
from torch_geometric_negsamp.train import hard_strategies  # noqa: F401,E402
from torch_geometric_negsamp.train.strategy_base import (
    STRATEGIES,
    STRATEGY_OPTIONS,
    Context,
    Negatives,
    StaticStrategy,
    Strategy,
)


@STRATEGIES.register('dns')
class DNSStrategy(Strategy):
    r"""The top-``num_neg`` of ``candidates`` filtered uniform
    candidates; with ``warmup_epochs`` :math:`N`, of the first
    :math:`c(t)` of them, growing from 1 (uniform) to ``candidates`` over
    :math:`N` epochs (:class:`~torch_geometric_negsamp.select.
    HardnessSchedule`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._at_least('candidates', self.num_neg, " ('num_neg')")
        self.selector = self._make_selector()
        self.selectors['selector'] = self.selector
        self.schedule = HardnessSchedule(self.warmup_epochs or 0)

    def _num_candidates(self) -> int:
        return self.schedule.num_candidates(
            self.epoch, self.candidates, self.num_neg
        )

    def _make_selector(self) -> Selector:
        return DNS(self.num_neg)

    def _select(self, cand, scores):
        return self.selector.select(cand, scores)

    def negatives(self, users, pos, ctx):
        cand = self.sampler.sample_trusted(users, self._num_candidates())
        ids = self._select(cand, ctx.scores(users, cand))
        return Negatives(ctx.item_emb[ids], ids)


@STRATEGIES.register('softmax')
class SoftmaxStrategy(DNSStrategy):
    r"""``num_neg`` of ``candidates`` drawn by softmax(score /
    temperature); with ``warmup_epochs`` :math:`N`, by softmax(:math:`f(t)`
    score / temperature), :math:`f` growing from 0 (uniform) to 1 over
    :math:`N` epochs."""

    def _make_selector(self) -> Selector:
        return SoftmaxSelector(
            self.num_neg, self.temperature, generator=torch.Generator()
        )

    def _num_candidates(self) -> int:
        return self.candidates

    def _select(self, cand, scores):
        index, _ = self.selector(scores * self.schedule.scale(self.epoch))
        return cand.gather(1, index)


@STRATEGIES.register('mixgcf')
class MixGCFStrategy(Strategy):
    r"""MixGCF synthetic negatives, each from its own pool of
    ``candidates``."""

    needs_layers = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._at_least('candidates', 1)
        combine = 'mean' if self.combine is None else self.combine
        self.selector = MixGCF(combine, generator=torch.Generator())
        self.selectors['selector'] = self.selector

    def negatives(self, users, pos, ctx):
        B, k, M = users.numel(), self.num_neg, self.candidates
        cand = self.sampler.sample_trusted(users, k * M)
        layers, U = ctx.layers, self.num_users
        emb, chosen = self.selector.synthesize(
            torch.stack([layer[users] for layer in layers], dim=1),
            torch.stack([layer[U + pos] for layer in layers], dim=1),
            [layer[U:] for layer in layers],
            cand.view(B, k, M),
            return_ids=True,
        )
        return Negatives(emb, None, source_ids=chosen.view(B, -1))


@STRATEGIES.register('inbatch')
class InBatchStrategy(Strategy):
    r"""The batch's other positive items (plus ``mixed_negatives`` shared
    uniform items), scored with sampled softmax, accidental hits masked and
    the logQ correction applied."""

    forces_loss = 'softmax'

    def __init__(self, train_index, num_users, num_items, **kwargs):
        super().__init__(train_index, num_users, num_items, **kwargs)
        self.selector = InBatchNegatives(
            self.sampler.index(),
            item_log_frequency(train_index, num_items),
            num_items,
        )
        self.selectors['selector'] = self.selector
        # The mixed items are the strategy's own draw:
        self.generator = torch.Generator()

    def reseed(self, seed):
        super().reseed(seed)
        self.generator = torch.Generator().manual_seed(seed + 1)

    def state_dict(self):
        return {**super().state_dict(), 'mixed': self.generator.get_state()}

    def load_state_dict(self, state):
        if not isinstance(state, Mapping) or not isinstance(
            state.get('mixed'), Tensor
        ):
            raise ValueError(
                "'state' must hold the generator state 'mixed' of the "
                'InBatchStrategy'
            )
        rest = {key: value for key, value in state.items() if key != 'mixed'}
        generator = torch.Generator()
        try:
            generator.set_state(state['mixed'])
        except (RuntimeError, TypeError) as error:
            raise ValueError(
                f"'state' entry 'mixed' is no generator state: {error}"
            ) from None
        super().load_state_dict(rest)
        self.generator = generator

    def negatives(self, users, pos, ctx):
        mixed = mixed_emb = None
        if self.mixed_negatives > 0:
            mixed = randint_below(
                torch.full(
                    (self.mixed_negatives,),
                    self.num_items,
                    device=users.device,
                ),
                self.generator,
            )
            mixed_emb = ctx.item_emb[mixed]
        out = self.selector(
            users,
            pos,
            ctx.user_emb[users],
            ctx.item_emb[pos],
            mixed,
            mixed_emb,
        )
        return Negatives(
            None,
            None,
            out.log_q_pos,
            out.log_q_neg,
            out.accidental_hits,
            out.pos,
            out.neg,
            scored_ids=out.neg_items,
        )


@STRATEGIES.register('cache')
class CacheStrategy(Strategy):
    r"""NSCaching-style per-user caches of ``cache_size`` hard negatives,
    refreshed every step with ``cache_size`` fresh uniform ones."""

    def __init__(self, train_index, num_users, num_items, **kwargs):
        super().__init__(train_index, num_users, num_items, **kwargs)
        self._at_least('cache_size', 1)
        self.cache = NegativeCache(
            self.sampler,
            num_users,
            cache_size=self.cache_size,
            num_fresh=self.cache_size,
            temperature=self.temperature,
            generator=torch.Generator(),
        )
        self.selectors['cache'] = self.cache

    def negatives(self, users, pos, ctx):
        self.cache.update(users, ctx.scores)
        ids = self.cache.sample(users, self.num_neg)
        return Negatives(ctx.item_emb[ids], ids)


@STRATEGIES.register('queue')
class QueueStrategy(Strategy):
    r"""A MoCo-style queue of the ``queue_size`` most recent positive items
    as negatives for every user of the batch, re-embedded with the current
    model, scored with sampled softmax, accidental hits (known positives of
    the user) masked and the popularity logQ correction applied."""

    forces_loss = 'softmax'

    def __init__(self, train_index, num_users, num_items, **kwargs):
        super().__init__(train_index, num_users, num_items, **kwargs)
        self._at_least('queue_size', 1)
        self.queue = MemoryQueue(self.queue_size, num_items=num_items)
        self.queue.to(self.sampler.index().device)
        self.selectors['queue'] = self.queue
        self.log_q = item_log_frequency(train_index, num_items)

    def to(self, device):
        super().to(device)
        self.log_q = self.log_q.to(device)
        return self

    def negatives(self, users, pos, ctx):
        if len(self.queue) == 0:
            self.queue.push(pos)
        items, _ = self.queue.negatives()
        user_emb = ctx.user_emb[users]
        neg = user_emb @ ctx.item_emb[items].t()  # [B, Q]
        # The users were checked when the sampler was fitted, the queued
        # items when they were pushed:
        hits = self.sampler.index().contains_unchecked(
            users.long().view(-1, 1), items.view(1, -1)
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
            scored_ids=items,
        )


def strategy_names() -> List[str]:
    r"""All names accepted by :func:`build_strategy`."""
    return SAMPLERS.names() + STRATEGIES.names()


def resolve_strategy_name(
    name: str, arg: str = 'sampler', kind: str = 'sampler'
) -> str:
    r"""The registered name :obj:`name` stands for (compared as the
    registries compare names); a :class:`ValueError` naming :obj:`arg` and
    listing the known names otherwise."""
    check_instance(name, arg, str, what=f'a {kind} name')
    key = STRATEGIES.key(name) or SAMPLERS.key(name)
    if key is None:
        raise ValueError(
            f"'{arg}' names no known {kind} (got {name!r}; known: "
            f'{", ".join(strategy_names())})'
        )
    return key


def build_strategy(
    name: str,
    train_index: Tensor,
    num_users: int,
    num_items: int,
    **kwargs: Any,
) -> Strategy:
    r"""Builds the strategy called :obj:`name` (case, ``-`` and ``_``
    ignored): a registered static sampler (e.g. :obj:`"uniform"`,
    :obj:`"popularity"`) or one of :obj:`"dns"`, :obj:`"softmax"`,
    :obj:`"mixgcf"`, :obj:`"inbatch"`, :obj:`"cache"`, :obj:`"queue"`
    (candidates from the filtered uniform sampler). The keyword arguments
    are those of :class:`Strategy` (:obj:`num_neg`, :obj:`candidates`,
    :obj:`cache_size`, :obj:`queue_size`, :obj:`mixed_negatives`,
    :obj:`temperature`, :obj:`alpha`, :obj:`combine`); each size is used
    only by the strategies named beside it there."""
    key = resolve_strategy_name(name, 'name', 'strategy')
    if key in STRATEGIES:
        cls = STRATEGIES.get(key)
        return cls(train_index, num_users, num_items, **kwargs)
    return StaticStrategy(
        train_index, num_users, num_items, base=key, **kwargs
    )


__all__ = [
    'Negatives',
    'Context',
    'Strategy',
    'STRATEGIES',
    'STRATEGY_OPTIONS',
    'build_strategy',
    'resolve_strategy_name',
    'strategy_names',
]
