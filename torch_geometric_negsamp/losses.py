r"""Losses for training with sampled negatives.

Every loss takes the scores of :obj:`B` positives, :obj:`pos` of shape
:obj:`[B]`, and of their negatives, :obj:`neg` of shape :obj:`[B, k]`
(row :obj:`i` holds the negatives of positive :obj:`i`; a :obj:`[B]` tensor
means :obj:`k = 1`). With :obj:`reduction='none'` the result has shape
:obj:`[B]`, one value per positive; :obj:`'mean'` (the default) and
:obj:`'sum'` reduce that vector. With :obj:`validate=True` (the default)
every score is checked to be finite, which costs one host synchronisation;
a training loop that checks its loss itself passes :obj:`validate=False`.

Every argument is checked before any computation, and a bad one raises
:class:`TypeError` or :class:`ValueError` naming it: scores (and
:obj:`log_q_*`, regularised tensors) must be floating-point tensors on one
device with every entry finite (a NaN or infinite score would otherwise
propagate silently into the loss and the gradients); shapes as above; an
unknown :obj:`reduction`; :obj:`reduction='mean'` over an empty batch (the
mean of nothing is undefined). The finiteness check costs one host
synchronisation per call and is skipped while a CUDA graph is captured.
Computed from finite inputs, no loss here is NaN: the forms below cannot
subtract two infinities.
"""

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_bool,
    check_choice,
    check_float_tensor,
    check_index_tensor,
    check_positive_int,
    check_real,
    check_same_device,
    check_same_shape,
    check_temperature,
    check_tensor,
)

__all__ = [
    'bpr_loss',
    'bce_loss',
    'hinge_loss',
    'sampled_softmax_loss',
    'accidental_hit_mask',
    'l2_regularization',
]

REDUCTIONS = ('mean', 'sum', 'none')


def _check_scores(
    pos: object, neg: object, reduction: object
) -> Tuple[Tensor, Tensor, str]:
    r"""The checks every loss shares, value scans excluded: :obj:`pos`
    :obj:`[B]` and :obj:`neg` :obj:`[B]` or :obj:`[B, k]` floating point on
    one device, a known :obj:`reduction`, and a batch for :obj:`'mean'`.
    Returns :obj:`neg` as :obj:`[B, k]`."""
    reduction = check_choice(reduction, 'reduction', REDUCTIONS)
    check_float_tensor(pos, 'pos', finite=False)
    check_float_tensor(neg, 'neg', finite=False)
    if pos.dim() != 1:
        raise ValueError(f"'pos' must have shape [B] (got {list(pos.shape)})")
    check_same_device(neg, 'neg', pos.device, "'pos'")
    if neg.dim() == 1:
        neg = neg.unsqueeze(-1)
    if neg.dim() != 2 or neg.size(0) != pos.size(0) or neg.size(1) == 0:
        raise ValueError(
            f"'neg' must have shape [B] or [B, k] with "
            f'B = {pos.size(0)} and k >= 1 (got '
            f'{list(neg.shape)})'
        )
    if reduction == 'mean' and pos.numel() == 0:
        raise ValueError(
            "'pos' must hold at least one score for reduction='mean' "
            '(got shape [0]; the mean of nothing is undefined)'
        )
    return pos, neg, reduction


def _check_finite(validate: object, **tensors: Optional[Tensor]) -> None:
    r"""With :obj:`validate`, every given tensor is finite (the one
    reduction over the values, after every other check)."""
    if check_bool(validate, 'validate'):
        given = {name: t for name, t in tensors.items() if t is not None}
        check_all_finite(list(given.values()), list(given))


def _check_like(
    name: str,
    value: Optional[Tensor],
    like: Tensor,
    what: str,
    is_bool: bool = False,
) -> Optional[Tensor]:
    if value is None:
        return None
    check_tensor(value, name)
    if is_bool and value.dtype != torch.bool:
        raise TypeError(f"'{name}' must be a bool tensor (got {value.dtype})")
    if not is_bool:
        check_float_tensor(value, name, finite=False)
    check_same_shape(value, name, like, what)
    check_same_device(value, name, like.device, f"'{what}'")
    return value


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


def bpr_loss(
    pos: Tensor, neg: Tensor, reduction: str = 'mean', *, validate: bool = True
) -> Tensor:
    r"""The Bayesian personalised ranking loss
    (`Rendle et al., 2009 <https://arxiv.org/abs/1205.2618>`_), averaged over
    the :math:`k` negatives of each positive:

    .. math::
        \ell_i = \frac{1}{k} \sum_{j=1}^{k}
        -\log \sigma(s^+_i - s^-_{ij})
        = \frac{1}{k} \sum_{j=1}^{k} \mathrm{softplus}(s^-_{ij} - s^+_i)

    (computed with :func:`~torch.nn.functional.softplus` for stability).

    Args:
        pos, neg, reduction, validate: The scores and options every loss
            takes, described in :mod:`torch_geometric_negsamp.losses`.
    """
    pos, neg, reduction = _check_scores(pos, neg, reduction)
    _check_finite(validate, pos=pos, neg=neg)
    loss = F.softplus(neg - pos.unsqueeze(-1)).mean(dim=-1)
    return _reduce(loss, reduction)


def bce_loss(
    pos: Tensor, neg: Tensor, reduction: str = 'mean', *, validate: bool = True
) -> Tensor:
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
        pos, neg, reduction, validate: The scores (logits here) and
            options every loss takes, described in
            :mod:`torch_geometric_negsamp.losses`.
    """
    pos, neg, reduction = _check_scores(pos, neg, reduction)
    _check_finite(validate, pos=pos, neg=neg)
    loss = F.softplus(-pos) + F.softplus(neg).sum(dim=-1)
    return _reduce(loss, reduction)


def hinge_loss(
    pos: Tensor,
    neg: Tensor,
    margin: float = 1.0,
    reduction: str = 'mean',
    *,
    validate: bool = True,
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
        pos, neg, reduction, validate: The scores and options every loss
            takes, described in :mod:`torch_geometric_negsamp.losses`.
        margin (float, optional): The margin :math:`\gamma \geq 0`.
            (default: :obj:`1.0`)
    """
    pos, neg, reduction = _check_scores(pos, neg, reduction)
    margin = check_real(margin, 'margin', minimum=0.0)
    _check_finite(validate, pos=pos, neg=neg)
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
    *,
    validate: bool = True,
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
    The loss is computed as
    :math:`\operatorname{logsumexp}(0, z^-_{i1} - z^+_i, \ldots)`, from the
    differences, so that a small :math:`\tau` or large scores give a large
    loss, never :math:`\infty - \infty`.

    Args:
        pos, neg, reduction, validate: The scores and options every loss
            takes, described in :mod:`torch_geometric_negsamp.losses`.
        temperature (float, optional): The temperature :math:`\tau > 0`.
            (default: :obj:`1.0`)
        log_q_pos (torch.Tensor, optional): :math:`\log Q^+`, shape of
            :obj:`pos`, finite (an item proposed with probability :math:`0`
            cannot have been proposed). (default: :obj:`None`)
        log_q_neg (torch.Tensor, optional): :math:`\log Q^-`, shape of
            :obj:`neg`, finite. (default: :obj:`None`)
        accidental_hits (torch.Tensor, optional): Boolean mask of the shape
            of :obj:`neg`; :obj:`True` drops that negative.
            (default: :obj:`None`)
    """
    neg_shaped = neg
    pos, neg, reduction = _check_scores(pos, neg, reduction)
    temperature = check_temperature(temperature)
    log_q_pos = _check_like('log_q_pos', log_q_pos, pos, 'pos')
    log_q_neg = _check_like('log_q_neg', log_q_neg, neg_shaped, 'neg')
    hits = _check_like(
        'accidental_hits', accidental_hits, neg_shaped, 'neg', True
    )
    # A finite log Q: an item proposed with probability 0 cannot have been
    # proposed (and log Q = -inf would turn the logit into +inf, the loss
    # into NaN).
    _check_finite(
        validate, pos=pos, neg=neg, log_q_pos=log_q_pos, log_q_neg=log_q_neg
    )

    # The loss as a function of the differences z^-_ij - z^+_i, so that
    # no logit is formed on its own: large scores or a small temperature
    # give an infinite loss at worst, never inf - inf = NaN.
    diff = (neg - pos.unsqueeze(-1)) / temperature
    if log_q_pos is not None:
        diff = diff + log_q_pos.unsqueeze(-1)
    if log_q_neg is not None:
        diff = diff - log_q_neg.view(diff.shape)
    if hits is not None:
        diff = diff.masked_fill(hits.view(diff.shape), float('-inf'))
    logits = torch.cat([diff.new_zeros(diff.size(0), 1), diff], dim=-1)
    loss = torch.logsumexp(logits, dim=-1)
    return _reduce(loss, reduction)


def accidental_hit_mask(pos_ids: Tensor, neg_ids: Tensor) -> Tensor:
    r"""Returns the boolean mask of negatives that are the positive itself,
    :obj:`neg_ids == pos_ids[:, None]`, for the :obj:`accidental_hits`
    argument of :func:`sampled_softmax_loss`.

    Args:
        pos_ids (torch.Tensor): Positive item ids (an integer tensor) of
            shape :obj:`[B]`.
        neg_ids (torch.Tensor): Negative item ids of shape :obj:`[B, k]` or
            :obj:`[B]`, on the device of :obj:`pos_ids`.

    Returns:
        torch.Tensor: A bool tensor of the shape of :obj:`neg_ids`.
    """
    check_index_tensor(pos_ids, 'pos_ids', dim=1)
    check_index_tensor(neg_ids, 'neg_ids')
    if neg_ids.dim() not in (1, 2) or neg_ids.size(0) != pos_ids.size(0):
        raise ValueError(
            f"'neg_ids' must have shape [B] or [B, k] with "
            f'B = {pos_ids.size(0)} (got {list(neg_ids.shape)})'
        )
    check_same_device(neg_ids, 'neg_ids', pos_ids.device, "'pos_ids'")
    if neg_ids.dim() == 1:
        return neg_ids == pos_ids
    return neg_ids == pos_ids.unsqueeze(-1)


def l2_regularization(
    *tensors: Tensor, batch_size: int, validate: bool = True
) -> Tensor:
    r"""The embedding regularisation of LightGCN
    (`He et al., 2020 <https://arxiv.org/abs/2002.02126>`_):

    .. math::
        \frac{1}{2 B} \sum_{t} \lVert t \rVert_2^2,

    usually applied to the layer-0 embeddings of the users, positive and
    negative items of a batch of :math:`B` triplets (multiply by the weight
    decay yourself).

    Args:
        *tensors (torch.Tensor): The tensors to regularise (at least one;
            floating point, finite, on one device).
        batch_size (int): The batch size :math:`B \geq 1`.
        validate (bool, optional): Check that every entry is finite (one
            host synchronisation). (default: :obj:`True`)
    """
    batch_size = check_positive_int(batch_size, 'batch_size')
    if len(tensors) == 0:
        raise ValueError("'tensors' must hold at least one tensor (got none)")
    names = [f'tensors[{i}]' for i in range(len(tensors))]
    for name, tensor in zip(names, tensors):
        check_float_tensor(tensor, name, finite=False)
    for name, tensor in zip(names[1:], tensors[1:]):
        check_same_device(tensor, name, tensors[0].device, "'tensors[0]'")
    _check_finite(validate, **dict(zip(names, tensors)))
    total = sum(tensor.pow(2).sum() for tensor in tensors)
    return 0.5 * total / batch_size
