r"""The model-aware strategies that control hardness: :obj:`"ahns"`
(adaptive hardness), :obj:`"dens"` (disentangled negatives) and
:obj:`"srns"` (false-negative avoidance), registered in
:obj:`~torch_geometric_negsamp.train.strategies.STRATEGIES`."""

import torch
from torch import Tensor

from torch_geometric_negsamp.select import AHNS, DENS, SRNS
from torch_geometric_negsamp.train.strategy_base import (
    STRATEGIES,
    Context,
    Negatives,
    Strategy,
)

#: AHNS's target :math:`t = \beta (s^+ + \alpha)^{p + 1}` in the training
#: command: :math:`\alpha = 0, \beta = 1, p = 0`, i.e. the positive's own
#: score (floored at the selector's :math:`\epsilon`), a point of the
#: paper's family that does not depend on the scale of the scores. The
#: selector's reference defaults (1, 0.1, -2: target 0.1 / (s+ + 1)) fall
#: towards 0 as LightGCN's inner products grow; measured on Last.fm they
#: collapse (test Recall@20 -24.6% against uniform), while this target
#: holds (+3.8% with BPR, +4.9% with the sampled softmax;
#: ``docs/select.md``).
AHNS_ALPHA, AHNS_BETA, AHNS_P = 0.0, 1.0, 0.0
#: Warm-up of DENS's selection rule when :obj:`warmup_epochs` is not set:
#: the reference code's 100 epochs. Measured on Last.fm (lr 1e-3), a
#: 20-epoch ramp collapses once the rule is fully on (its picks turn easy);
#: with 100 epochs the selected checkpoint (epoch 80) beats DNS's best,
#: before the same decline (``docs/select.md``).
DENS_WARMUP = 100
#: Ramp of SRNS's spread term when :obj:`warmup_epochs` is not set.
SRNS_WARMUP = 20
#: SRNS's pool per user, its window of epochs and the weight of the spread.
SRNS_POOL, SRNS_WINDOW, SRNS_ALPHA = 100, 5, 5.0


def _pos_scores(users: Tensor, pos: Tensor, ctx: Context) -> Tensor:
    with torch.no_grad():
        return (ctx.user_emb[users] * ctx.item_emb[pos]).sum(-1)


@STRATEGIES.register('ahns')
class AHNSStrategy(Strategy):
    r"""AHNS (Lai et al., AAAI 2024): of ``candidates`` filtered uniform
    candidates, the ``num_neg`` whose scores lie closest to
    :math:`\beta (s^+ + \alpha)^{p + 1}` (:class:`~torch_geometric_negsamp.
    select.AHNS` with :obj:`AHNS_ALPHA`, :obj:`AHNS_BETA`, :obj:`AHNS_P`:
    the target is the positive's own score)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._at_least('candidates', self.num_neg, " ('num_neg')")
        self.selector = AHNS(
            self.num_neg, alpha=AHNS_ALPHA, beta=AHNS_BETA, p=AHNS_P
        )
        self.selectors['selector'] = self.selector

    def negatives(self, users, pos, ctx):
        cand = self.sampler.sample_trusted(users, self.candidates)
        ids = self.selector.select(
            cand,
            ctx.scores(users, cand),
            _pos_scores(users, pos, ctx),
        )
        return Negatives(ctx.item_emb[ids], ids)


@STRATEGIES.register('dens')
class DENSStrategy(Strategy):
    r"""DENS (Lai et al., WSDM 2023): per negative, ``candidates`` filtered
    uniform candidates, a hop-wise choice by the learned gates
    (:class:`~torch_geometric_negsamp.select.DENS`, warm-up
    ``warmup_epochs``, :obj:`DENS_WARMUP` when unset), and the gating loss
    (:math:`\gamma = 0.3`) added to the training loss; the gates are in
    :meth:`parameters`."""

    needs_layers = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._at_least('candidates', 1)
        warmup = self.warmup_epochs
        self.selector = DENS(
            self.embedding_dim,
            warmup=DENS_WARMUP if warmup is None else warmup,
            combine='mean' if self.combine is None else self.combine,
        )
        self.selectors['selector'] = self.selector

    def negatives(self, users, pos, ctx):
        B, k, M = users.numel(), self.num_neg, self.candidates
        cand = self.sampler.sample_trusted(users, k * M).view(B, k, M)
        layers, U = ctx.layers, self.num_users
        user_layers = torch.stack([layer[users] for layer in layers], dim=1)
        pos_layers = torch.stack([layer[U + pos] for layer in layers], dim=1)
        neg_layers, chosen = self.selector.synthesize(
            user_layers,
            pos_layers,
            [layer[U:] for layer in layers],
            cand,
            self.epoch,
            return_ids=True,
        )
        aux = self.selector.gating_loss(user_layers, pos_layers, neg_layers)
        emb = self.selector.combine_layers(neg_layers)
        return Negatives(
            emb, None, aux_loss=aux, source_ids=chosen.view(B, -1)
        )


@STRATEGIES.register('srns')
class SRNSStrategy(Strategy):
    r"""SRNS-style false-negative avoidance (Ding et al., NeurIPS 2020): a
    pool of :obj:`SRNS_POOL` filtered uniform negatives per user whose
    scores are recorded at the start of every epoch (a window of
    :obj:`SRNS_WINDOW` epochs); per positive, of ``candidates`` pool
    entries, the ``num_neg`` of largest hardness plus
    :obj:`SRNS_ALPHA` times the ramped spread of their recent scores
    (ramp ``warmup_epochs``, :obj:`SRNS_WARMUP` when unset)."""

    def __init__(self, train_index, num_users, num_items, **kwargs):
        super().__init__(train_index, num_users, num_items, **kwargs)
        self._at_least('candidates', self.num_neg, " ('num_neg')")
        warmup = self.warmup_epochs
        self.selector = SRNS(
            self.sampler,
            num_users,
            pool_size=SRNS_POOL,
            window=SRNS_WINDOW,
            alpha=SRNS_ALPHA,
            warmup=SRNS_WARMUP if warmup is None else warmup,
            k=self.num_neg,
            generator=torch.Generator(),
        )
        self.selectors['selector'] = self.selector
        self.train_users, self.train_items = train_index[0], train_index[1]
        self.degree = torch.bincount(self.train_users, minlength=num_users)

    def to(self, device):
        super().to(device)
        self.train_users = self.train_users.to(device)
        self.train_items = self.train_items.to(device)
        self.degree = self.degree.to(device)
        return self

    def _record(self, ctx: Context) -> None:
        user_emb, item_emb = ctx.user_emb.detach(), ctx.item_emb.detach()
        # The reference score: each user's mean training-positive score.
        scores = (user_emb[self.train_users] * item_emb[self.train_items]).sum(
            -1
        )
        total = scores.new_zeros(self.num_users)
        total.index_add_(0, self.train_users, scores)
        reference = total / self.degree.clamp(min=1).to(total.dtype)

        self.selector.record(self.epoch, ctx.scores, reference)

    def negatives(self, users, pos, ctx):
        if self.selector.last_recorded < self.epoch:
            self._record(ctx)
        positions, items = self.selector.propose(users, self.candidates)
        index = self.selector(
            users,
            positions,
            ctx.scores(users, items),
            _pos_scores(users, pos, ctx),
            self.epoch,
        )
        ids = items.gather(1, index)
        return Negatives(ctx.item_emb[ids], ids)
