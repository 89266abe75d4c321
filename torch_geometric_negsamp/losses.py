r"""Losses for training with sampled negatives.

Every loss takes the scores of :obj:`B` positives, :obj:`pos` of shape
:obj:`[B]`, and of their negatives, :obj:`neg` of shape :obj:`[B, k]`
(row :obj:`i` holds the negatives of positive :obj:`i`; a :obj:`[B]` tensor
means :obj:`k = 1`). With :obj:`reduction='none'` the result has shape
:obj:`[B]`, one value per positive; :obj:`'mean'` and :obj:`'sum'` reduce
that vector.
"""

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from torch_geometric_negsamp._validate import check_temperature

__all__ = [
    'bpr_loss',
    'bce_loss',
    'hinge_loss',
    'sampled_softmax_loss',
    'accidental_hit_mask',
    'l2_regularization',
]

REDUCTIONS = ('mean', 'sum', 'none')


def _check_reduction(reduction: object) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"'reduction' must be one of {list(REDUCTIONS)} "
            f'(got {reduction!r})'
        )
    return reduction  # type: ignore[return-value]


def _check_scores(pos: object, neg: object) -> Tuple[Tensor, Tensor]:
    for name, value in (('pos', pos), ('neg', neg)):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"'{name}' must be a torch.Tensor (got {type(value).__name__})"
            )
        if not value.dtype.is_floating_point:
            raise TypeError(
                f"'{name}' must be floating point (got {value.dtype})"
            )
    if pos.dim() != 1:
        raise ValueError(f"'pos' must have shape [B] (got {list(pos.shape)})")
    if neg.dim() == 1:
        neg = neg.unsqueeze(-1)
    if neg.dim() != 2 or neg.size(0) != pos.size(0) or neg.size(1) == 0:
        raise ValueError(
            f"'neg' must have shape [B] or [B, k] with "
            f'B = {pos.size(0)} and k >= 1 (got '
            f'{list(neg.shape)})'
        )
    return pos, neg


def _check_like(
    name: str, value: Optional[Tensor], shape: torch.Size, what: str
) -> Optional[Tensor]:
    if value is None:
        return None
    if not isinstance(value, Tensor):
        raise TypeError(
            f"'{name}' must be a torch.Tensor (got {type(value).__name__})"
        )
    if value.shape != shape:
        raise ValueError(
            f"'{name}' must have the shape of {what}, "
            f'{list(shape)} (got {list(value.shape)})'
        )
    return value


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


def bpr_loss(pos: Tensor, neg: Tensor, reduction: str = 'mean') -> Tensor:
    r"""The Bayesian personalised ranking loss
    (`Rendle et al., 2009 <https://arxiv.org/abs/1205.2618>`_), averaged over
    the :math:`k` negatives of each positive:

    .. math::
        \ell_i = \frac{1}{k} \sum_{j=1}^{k}
        -\log \sigma(s^+_i - s^-_{ij})
        = \frac{1}{k} \sum_{j=1}^{k} \mathrm{softplus}(s^-_{ij} - s^+_i)

    (computed with :func:`~torch.nn.functional.softplus` for stability).

    Args:
        pos (torch.Tensor): Positive scores of shape :obj:`[B]`.
        neg (torch.Tensor): Negative scores of shape :obj:`[B, k]` or
            :obj:`[B]`.
        reduction (str, optional): :obj:`'mean'`, :obj:`'sum'` or
            :obj:`'none'` (shape :obj:`[B]`). (default: :obj:`'mean'`)
    """
    reduction = _check_reduction(reduction)
    pos, neg = _check_scores(pos, neg)
    loss = F.softplus(neg - pos.unsqueeze(-1)).mean(dim=-1)
    return _reduce(loss, reduction)


def bce_loss(pos: Tensor, neg: Tensor, reduction: str = 'mean') -> Tensor:
    r"""Binary cross-entropy on logits, positives labelled :obj:`1` and
    negatives :obj:`0`; per positive, the negative terms are summed, as in
    the negative-sampling objective of word2vec
    (`Mikolov et al., 2013 <https://arxiv.org/abs/1310.4546>`_):

    .. math::
        \ell_i = -\log \sigma(s^+_i)
        - \sum_{j=1}^{k} \log(1 - \sigma(s^-_{ij}))
        = \mathrm{softplus}(-s^+_i) + \sum_{j=1}^{k}
        \mathrm{softplus}(s^-_{ij}).

    :obj:`reduction='sum'` thus equals
    :func:`~torch.nn.functional.binary_cross_entropy_with_logits` with
    :obj:`reduction='sum'` over all :math:`B (1 + k)` scores, and
    :obj:`'mean'` equals :math:`(1 + k)` times its :obj:`'mean'`.

    Args:
        pos (torch.Tensor): Positive scores (logits) of shape :obj:`[B]`.
        neg (torch.Tensor): Negative scores of shape :obj:`[B, k]` or
            :obj:`[B]`.
        reduction (str, optional): :obj:`'mean'`, :obj:`'sum'` or
            :obj:`'none'` (shape :obj:`[B]`). (default: :obj:`'mean'`)
    """
    reduction = _check_reduction(reduction)
    pos, neg = _check_scores(pos, neg)
    loss = F.softplus(-pos) + F.softplus(neg).sum(dim=-1)
    return _reduce(loss, reduction)


def hinge_loss(
    pos: Tensor, neg: Tensor, margin: float = 1.0, reduction: str = 'mean'
) -> Tensor:
    r"""The margin (hinge) ranking loss, averaged over the :math:`k`
    negatives of each positive:

    .. math::
        \ell_i = \frac{1}{k} \sum_{j=1}^{k}
        \max(0, \gamma - s^+_i + s^-_{ij}),

    the form used with margin :math:`\gamma` by RecNS (Yang et al., "Region
    or global? A principle for negative sampling in graph-based
    recommendation", IEEE TKDE 2023) and, per pair, by
    :class:`torch.nn.MarginRankingLoss` with target :obj:`1`.

    Args:
        pos (torch.Tensor): Positive scores of shape :obj:`[B]`.
        neg (torch.Tensor): Negative scores of shape :obj:`[B, k]` or
            :obj:`[B]`.
        margin (float, optional): The margin :math:`\gamma \geq 0`.
            (default: :obj:`1.0`)
        reduction (str, optional): :obj:`'mean'`, :obj:`'sum'` or
            :obj:`'none'` (shape :obj:`[B]`). (default: :obj:`'mean'`)
    """
    reduction = _check_reduction(reduction)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)):
        raise TypeError(
            f"'margin' must be a float (got {type(margin).__name__})"
        )
    if not margin >= 0:
        raise ValueError(f"'margin' must be non-negative (got {margin})")
    pos, neg = _check_scores(pos, neg)
    loss = F.relu(margin - pos.unsqueeze(-1) + neg).mean(dim=-1)
    return _reduce(loss, reduction)


def sampled_softmax_loss(
    pos: Tensor,
    neg: Tensor,
    temperature: float = 1.0,
    log_q_pos: Optional[Tensor] = None,
    log_q_neg: Optional[Tensor] = None,
    accidental_hits: Optional[Tensor] = None,
    reduction: str = 'mean',
) -> Tensor:
    r"""The sampled softmax (InfoNCE) loss over each positive and its
    negatives, with the optional logQ correction of
    `Yi et al., 2019 <https://doi.org/10.1145/3298689.3346996>`_
    ("Sampling-bias-corrected neural modeling for large corpus item
    recommendations"):

    .. math::
        z^+_i = s^+_i / \tau - \log Q^+_i, \qquad
        z^-_{ij} = s^-_{ij} / \tau - \log Q^-_{ij}, \qquad
        \ell_i = -\log \frac{\exp z^+_i}
        {\exp z^+_i + \sum_{j} \exp z^-_{ij}},

    where :math:`Q` is the probability with which the sampler proposed the
    item (omitted terms are :math:`0`). Negatives flagged in
    :obj:`accidental_hits` (e.g. a negative that is the positive itself, as
    happens with in-batch negatives; see :func:`accidental_hit_mask`) get
    :math:`z^-_{ij} = -\infty`, which is the same as removing them.

    Args:
        pos (torch.Tensor): Positive scores of shape :obj:`[B]`.
        neg (torch.Tensor): Negative scores of shape :obj:`[B, k]` or
            :obj:`[B]`.
        temperature (float, optional): The temperature :math:`\tau > 0`.
            (default: :obj:`1.0`)
        log_q_pos (torch.Tensor, optional): :math:`\log Q^+`, shape of
            :obj:`pos`. (default: :obj:`None`)
        log_q_neg (torch.Tensor, optional): :math:`\log Q^-`, shape of
            :obj:`neg`. (default: :obj:`None`)
        accidental_hits (torch.Tensor, optional): Boolean mask of the shape
            of :obj:`neg`; :obj:`True` drops that negative.
            (default: :obj:`None`)
        reduction (str, optional): :obj:`'mean'`, :obj:`'sum'` or
            :obj:`'none'` (shape :obj:`[B]`). (default: :obj:`'mean'`)
    """
    reduction = _check_reduction(reduction)
    temperature = check_temperature(temperature)
    pos, neg_2d = _check_scores(pos, neg)
    neg_shape = neg.shape
    log_q_pos = _check_like('log_q_pos', log_q_pos, pos.shape, "'pos'")
    log_q_neg = _check_like('log_q_neg', log_q_neg, neg_shape, "'neg'")
    accidental_hits = _check_like(
        'accidental_hits', accidental_hits, neg_shape, "'neg'"
    )
    if accidental_hits is not None and accidental_hits.dtype != torch.bool:
        raise TypeError(
            f"'accidental_hits' must be a bool tensor (got "
            f'{accidental_hits.dtype})'
        )

    pos_logit = pos / temperature
    neg_logit = neg_2d / temperature
    if log_q_pos is not None:
        pos_logit = pos_logit - log_q_pos
    if log_q_neg is not None:
        neg_logit = neg_logit - log_q_neg.view(neg_logit.shape)
    if accidental_hits is not None:
        neg_logit = neg_logit.masked_fill(
            accidental_hits.view(neg_logit.shape), float('-inf')
        )
    logits = torch.cat([pos_logit.unsqueeze(-1), neg_logit], dim=-1)
    loss = torch.logsumexp(logits, dim=-1) - pos_logit
    return _reduce(loss, reduction)


def accidental_hit_mask(pos_ids: Tensor, neg_ids: Tensor) -> Tensor:
    r"""Returns the boolean mask of negatives that are the positive itself,
    :obj:`neg_ids == pos_ids[:, None]`, for the :obj:`accidental_hits`
    argument of :func:`sampled_softmax_loss`.

    Args:
        pos_ids (torch.Tensor): Positive item ids of shape :obj:`[B]`.
        neg_ids (torch.Tensor): Negative item ids of shape :obj:`[B, k]` or
            :obj:`[B]`.

    Returns:
        torch.Tensor: A bool tensor of the shape of :obj:`neg_ids`.
    """
    for name, value in (('pos_ids', pos_ids), ('neg_ids', neg_ids)):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"'{name}' must be a torch.Tensor (got {type(value).__name__})"
            )
    if pos_ids.dim() != 1:
        raise ValueError(
            f"'pos_ids' must have shape [B] (got {list(pos_ids.shape)})"
        )
    if neg_ids.dim() not in (1, 2) or neg_ids.size(0) != pos_ids.size(0):
        raise ValueError(
            f"'neg_ids' must have shape [B] or [B, k] with "
            f'B = {pos_ids.size(0)} (got {list(neg_ids.shape)})'
        )
    if neg_ids.dim() == 1:
        return neg_ids == pos_ids
    return neg_ids == pos_ids.unsqueeze(-1)


def l2_regularization(*tensors: Tensor, batch_size: int) -> Tensor:
    r"""The embedding regularisation of LightGCN
    (`He et al., 2020 <https://arxiv.org/abs/2002.02126>`_):

    .. math::
        \frac{1}{2 B} \sum_{t} \lVert t \rVert_2^2,

    usually applied to the layer-0 embeddings of the users, positive and
    negative items of a batch of :math:`B` triplets (multiply by the weight
    decay yourself).

    Args:
        *tensors (torch.Tensor): The tensors to regularise (at least one).
        batch_size (int): The batch size :math:`B`.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise TypeError(
            f"'batch_size' must be an int (got {type(batch_size).__name__})"
        )
    if batch_size < 1:
        raise ValueError(
            f"'batch_size' must be a positive integer (got {batch_size})"
        )
    if len(tensors) == 0:
        raise ValueError("'tensors' must hold at least one tensor (got none)")
    for i, tensor in enumerate(tensors):
        if (
            not isinstance(tensor, Tensor)
            or not tensor.dtype.is_floating_point
        ):
            what = (
                tensor.dtype
                if isinstance(tensor, Tensor)
                else type(tensor).__name__
            )
            raise TypeError(
                f"'tensors[{i}]' must be a floating-point "
                f'torch.Tensor (got {what})'
            )
    total = sum(tensor.pow(2).sum() for tensor in tensors)
    return 0.5 * total / batch_size
