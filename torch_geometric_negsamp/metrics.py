r"""Full-ranking evaluation for recommendation (Recall, NDCG, Precision and
hit rate at :math:`k`), as in the NGCF / LightGCN reference protocol.

Protocol (`He et al., 2020 <https://arxiv.org/abs/2002.02126>`_): every
user ranks *all* items, its training items masked out; for a user
:math:`u` with test items :math:`T_u` and top-:math:`k` list
:math:`(i_0, \ldots, i_{k-1})`, with :math:`h_r = 1` if :math:`i_r \in T_u`:

.. math::
    \mathrm{Recall@}k = \frac{\sum_r h_r}{|T_u|}, \qquad
    \mathrm{Precision@}k = \frac{\sum_r h_r}{k}, \qquad
    \mathrm{HR@}k = \mathbb{1}\Big[\sum_r h_r > 0\Big],

.. math::
    \mathrm{NDCG@}k = \frac{\sum_{r=0}^{k-1} h_r / \log_2(r + 2)}
    {\sum_{r=0}^{\min(k, |T_u|) - 1} 1 / \log_2(r + 2)},

averaged over the users with at least one test item.

Why not :mod:`torch_geometric.metrics`: its :class:`LinkPredRecall`,
:class:`LinkPredPrecision`, :class:`LinkPredNDCG` and
:class:`LinkPredHitRatio` use the same definitions (recall divides by the
number of ground-truth items, the ideal DCG uses :math:`\min(k, |T_u|)` ones,
users without ground truth are not counted; the tests check the agreement),
but they start from a ready top-:math:`k` index matrix, know nothing about
the training-item mask, accumulate in float32 and become
:class:`torchmetrics.Metric` objects (with their own state and
synchronisation rules) whenever :obj:`torchmetrics` happens to be installed.
The functions here take scores, apply the mask, share one top-:math:`k` over
several :math:`k`, and return float64 per-block sums, so that a blocked
evaluation equals the full-matrix one (to float64 rounding) whatever else is
installed.
"""

from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_callable,
    check_float_tensor,
    check_positive_int,
    check_request_size,
    check_returned,
    check_tensor,
    check_user_item_index,
)
from torch_geometric_negsamp.index import PositiveIndex

__all__ = [
    'ranking_metrics',
    'ranking_metric_sums',
    'evaluate_ranking',
    'evaluate_ranking_per_user',
]

METRIC_NAMES = ('recall', 'ndcg', 'precision', 'hit_rate')

ScoreFn = Callable[[Tensor, Tensor], Tensor]


def _check_ks(k: Union[int, Sequence[int]]) -> List[int]:
    if isinstance(k, (list, tuple)):
        if len(k) == 0:
            raise ValueError("'k' must not be an empty list")
        return sorted({check_positive_int(value, 'k') for value in k})
    return [check_positive_int(k, 'k')]


def _check_pairs(
    train_index: object, test_index: object, num_users: int, num_items: int
) -> Tuple[Tensor, Tensor]:
    r"""The checked training and test :obj:`(user, item)` pairs."""
    return tuple(
        check_user_item_index(index, name, num_users, num_items)
        for name, index in (
            ('train_index', train_index),
            ('test_index', test_index),
        )
    )


def _indices(
    train_index: Tensor,
    test_index: Tensor,
    num_users: int,
    num_items: int,
    device: torch.device,
) -> Tuple[PositiveIndex, PositiveIndex, Tensor]:
    r"""The library's exact indices of the (already validated) training and
    test pairs, and the users with a test item: they give per-block masks
    (:meth:`PositiveIndex.neighbors_unchecked`), counts and membership
    without a Python loop over users."""
    train, test = (
        PositiveIndex(index.to(device), max(num_users, 1), max(num_items, 1))
        for index in (train_index, test_index)
    )
    return train, test, torch.nonzero(test.degree() > 0).view(-1)


def _block_values(
    scores: Tensor,
    users: Tensor,
    train: PositiveIndex,
    test: PositiveIndex,
    ks: List[int],
    inplace: bool,
    reduce: bool = True,
) -> Dict[int, Tensor]:
    r"""Float64 values ``[4, rows]`` of the four metrics for each row of
    :obj:`scores` (which belong to :obj:`users`, all valid and with at least
    one test item), or with :obj:`reduce` their sums ``[4]``."""
    num_items = scores.size(1)
    row, item = train.neighbors_unchecked(users)
    if not inplace:
        scores = scores.clone()
    scores[row, item] = float('-inf')

    k_max = min(ks[-1], num_items)
    # Ties are broken in the order torch.topk returns them.
    top = torch.topk(scores, k_max, dim=1, sorted=True).indices
    block_users = users.view(-1, 1).expand_as(top)
    # A training item can only reach the top-k when k exceeds the number of
    # unmasked items; being masked, it never counts as a hit.
    hit = test.contains_unchecked(
        block_users, top
    ) & ~train.contains_unchecked(block_users, top)
    hit = hit.double()

    start, end = test.row_bounds_unchecked(users)
    num_test = (end - start).double()
    rank = torch.arange(k_max, dtype=torch.float64, device=scores.device)
    discount = 1.0 / torch.log2(rank + 2.0)
    ideal = torch.cat([discount.new_zeros(1), torch.cumsum(discount, 0)])

    out = {}
    for k in ks:
        k_eff = min(k, num_items)
        hits = hit[:, :k_eff].sum(dim=1)
        dcg = (hit[:, :k_eff] * discount[:k_eff]).sum(dim=1)
        idcg = ideal[num_test.long().clamp(max=k_eff)]
        parts = [hits / num_test, dcg / idcg, hits, (hits > 0).double()]
        if reduce:
            parts = [part.sum() for part in parts]
        parts[2] = parts[2] / k_eff  # (summed first, as it always was)
        out[k] = torch.stack(parts)
    return out


def _check_test_pairs(test_index: Tensor) -> None:
    if test_index.size(1) == 0:
        raise ValueError(
            "'test_index' holds no pair; no user can be evaluated"
        )


def _check_block_inputs(
    scores: object,
    train_index: object,
    test_index: object,
    k: object,
    need_test: bool,
) -> Tuple[Tensor, Tensor, Tensor, int]:
    r"""Every check of :func:`ranking_metrics`, the one reduction over
    :obj:`scores` (finiteness) last."""
    check_float_tensor(scores, 'scores', finite=False)
    if scores.dim() != 2 or scores.size(1) == 0:
        raise ValueError(
            f"'scores' must have shape [U, I] with I > 0 (got "
            f'{list(scores.shape)})'
        )
    k = check_positive_int(k, 'k')
    num_users, num_items = scores.shape
    train_index, test_index = _check_pairs(
        train_index, test_index, num_users, num_items
    )
    if need_test:
        _check_test_pairs(test_index)
    check_all_finite([scores], ['scores'])
    return scores, train_index, test_index, k


def _metric_sums(
    scores: Tensor, train_index: Tensor, test_index: Tensor, k: int
) -> Dict[str, Union[float, int]]:
    num_users, num_items = scores.shape
    device = scores.device
    train, test, users = _indices(
        train_index, test_index, num_users, num_items, device
    )
    if users.numel() == 0:
        return {**{name: 0.0 for name in METRIC_NAMES}, 'num_users': 0}
    sums = _block_values(scores[users], users, train, test, [k], inplace=True)
    values = sums[k].tolist()
    return {**dict(zip(METRIC_NAMES, values)), 'num_users': users.numel()}


def ranking_metric_sums(
    scores: Tensor,
    train_index: Tensor,
    test_index: Tensor,
    k: int,
) -> Dict[str, Union[float, int]]:
    r"""Like :func:`ranking_metrics`, but returns the *sums* of the per-user
    metrics and the number of evaluated users, so that results of several
    blocks of users can be combined exactly: add the sums and the counts of
    all blocks, then divide.

    Args:
        scores (torch.Tensor): Finite scores of shape :obj:`[U, I]` for a
            block of :obj:`U` users against all :obj:`I` items.
        train_index (torch.Tensor): Training :obj:`(row, item)` pairs of
            shape :obj:`[2, E_train]`, rows in :obj:`0..U-1` (the block's
            numbering); masked out before ranking.
        test_index (torch.Tensor): Test pairs of shape :obj:`[2, E_test]`, in
            the same numbering. May be empty (then all sums are zero).
        k (int): The cut-off; clamped to :obj:`I` when larger.

    Returns:
        dict: :obj:`'recall'`, :obj:`'ndcg'`, :obj:`'precision'`,
        :obj:`'hit_rate'` (Python floats, sums over evaluated users) and
        :obj:`'num_users'` (int, users with at least one test item).

    Raises:
        TypeError: As :func:`ranking_metrics`.
        ValueError: As :func:`ranking_metrics`, except that an empty
            :obj:`test_index` is allowed.
    """
    scores, train_index, test_index, k = _check_block_inputs(
        scores, train_index, test_index, k, need_test=False
    )
    return _metric_sums(scores, train_index, test_index, k)


def ranking_metrics(
    scores: Tensor,
    train_index: Tensor,
    test_index: Tensor,
    k: int,
) -> Dict[str, Union[float, int]]:
    r"""Computes Recall@:math:`k`, NDCG@:math:`k`, Precision@:math:`k` and
    hit rate@:math:`k` from a dense score matrix, with the NGCF / LightGCN
    full-ranking protocol (see the module documentation for the formulas).

    Training items get the score :math:`-\infty` before the top-:math:`k`
    (on a copy; :obj:`scores` is not modified). A pair present in both
    :obj:`train_index` and :obj:`test_index` is therefore never a hit, but
    still counts in :math:`|T_u|`, as in the reference implementations.
    Duplicate pairs count once. When :obj:`k` exceeds the number of items
    :math:`I`, :math:`k = I` is used (also as the precision denominator).
    Ties are broken in the order :func:`torch.topk` returns them, which may
    differ between devices. Users without a test item are not evaluated.

    Args:
        scores (torch.Tensor): Finite floating-point scores of shape
            :obj:`[U, I]` (mask known items through :obj:`train_index`,
            not with :math:`-\infty`).
        train_index (torch.Tensor): Training :obj:`(user, item)` pairs of
            shape :obj:`[2, E_train]`, users in :obj:`0..U-1`.
        test_index (torch.Tensor): Test pairs of shape :obj:`[2, E_test]`,
            with at least one pair.
        k (int): The cut-off.

    Returns:
        dict: :obj:`'recall'`, :obj:`'ndcg'`, :obj:`'precision'`,
        :obj:`'hit_rate'` as Python floats (means over the evaluated users)
        and :obj:`'num_users'`, the number of evaluated users (int).

    Raises:
        TypeError: If an argument has the wrong type or dtype.
        ValueError: On a wrong shape, an id out of range, an empty
            :obj:`test_index`, :obj:`k < 1`, or a NaN or infinite score
            (which :func:`torch.topk` would rank first or last at random);
            the message names the argument. Every check runs before any
            work.
    """
    scores, train_index, test_index, k = _check_block_inputs(
        scores, train_index, test_index, k, need_test=True
    )
    sums = _metric_sums(scores, train_index, test_index, k)
    count = sums['num_users']
    return {
        **{name: sums[name] / count for name in METRIC_NAMES},
        'num_users': count,
    }


def _dot_score(user_emb: Tensor, item_emb: Tensor) -> Tensor:
    return user_emb @ item_emb.t()


@torch.no_grad()
def evaluate_ranking(
    user_emb: Tensor,
    item_emb: Tensor,
    train_index: Tensor,
    test_index: Tensor,
    k: Union[int, Sequence[int]] = 20,
    batch_size: int = 1024,
    score_fn: Optional[ScoreFn] = None,
) -> Dict[str, Union[float, int]]:
    r"""Full-ranking evaluation over all users, in blocks of
    :obj:`batch_size` users, never building the whole :obj:`[U, I]` score
    matrix. The result equals :func:`ranking_metrics` on the full matrix
    (same protocol, masking, clamping and tie rule); only users with a test
    item are scored. Runs on the device of :obj:`user_emb` (the indices and
    :obj:`item_emb` are moved there).

    Args:
        user_emb (torch.Tensor): User representations of shape
            :obj:`[U, ...]` (:obj:`[U, d]` for the default dot product).
        item_emb (torch.Tensor): Item representations of shape
            :obj:`[I, ...]`.
        train_index (torch.Tensor): Training :obj:`(user, item)` pairs of
            shape :obj:`[2, E_train]`, masked out before ranking.
        test_index (torch.Tensor): Test pairs of shape :obj:`[2, E_test]`,
            with at least one pair.
        k (int or list of int, optional): The cut-off(s); each is clamped to
            :obj:`I` when larger (the key keeps the requested value).
            (default: :obj:`20`)
        batch_size (int, optional): Users per block; the block score matrix
            has :obj:`batch_size * I` entries. A block that could not fit in
            the memory of the device is refused before any work.
            (default: :obj:`1024`)
        score_fn (callable, optional): :obj:`score_fn(user_emb[users],
            item_emb)` returning finite floating-point scores of shape
            :obj:`[len(users), I]`. Its output is copied before masking.
            (default: dot product :obj:`user_emb[users] @ item_emb.T`, which
            needs finite floating-point :obj:`[U, d]` and :obj:`[I, d]`
            embeddings)

    Returns:
        dict: :obj:`'recall@k'`, :obj:`'ndcg@k'`, :obj:`'precision@k'`,
        :obj:`'hit_rate@k'` (Python floats) for every :obj:`k`, and
        :obj:`'num_users'` (int), the number of evaluated users.

    Raises:
        TypeError: If an argument has the wrong type (the message names
            it), or :obj:`score_fn` returns non-floating-point scores.
        ValueError: On a wrong shape, an id out of range, an empty
            :obj:`test_index`, :obj:`k` or :obj:`batch_size` below 1, a
            block too large for the device, non-finite embeddings, or a
            non-finite score (NaN would otherwise rank first); the message
            names the argument, and for a score the user.
    """
    users, ks, blocks = _ranking_blocks(
        user_emb, item_emb, train_index, test_index, k, batch_size, score_fn
    )
    device = users.device
    total = {k: torch.zeros(4, dtype=torch.float64, device=device) for k in ks}
    for sums in blocks:
        for k_ in ks:
            total[k_] += sums[k_]

    count = users.numel()
    out: Dict[str, Union[float, int]] = {}
    for k_ in ks:
        values = (total[k_] / count).tolist()
        for name, value in zip(METRIC_NAMES, values):
            out[f'{name}@{k_}'] = value
    out['num_users'] = count
    return out


@torch.no_grad()
def evaluate_ranking_per_user(
    user_emb: Tensor,
    item_emb: Tensor,
    train_index: Tensor,
    test_index: Tensor,
    k: Union[int, Sequence[int]] = 20,
    batch_size: int = 1024,
    score_fn: Optional[ScoreFn] = None,
) -> Dict[str, Tensor]:
    r""":func:`evaluate_ranking` (same arguments, checks, protocol and
    errors) for every evaluated user instead of their mean: what paired
    comparisons of two models on the same users need (such as the bootstrap
    interval of :func:`torch_geometric_negsamp.train.compare.paired_gain`).

    Returns:
        dict: :obj:`'users'`, the evaluated users (those with a test item,
        ascending, :obj:`int64`), and :obj:`'recall@k'`, :obj:`'ndcg@k'`,
        :obj:`'precision@k'`, :obj:`'hit_rate@k'` for every :obj:`k`:
        :obj:`float64` tensors aligned with :obj:`'users'`, whose means are
        the values :func:`evaluate_ranking` returns.
    """
    users, ks, blocks = _ranking_blocks(
        user_emb,
        item_emb,
        train_index,
        test_index,
        k,
        batch_size,
        score_fn,
        reduce=False,
    )
    parts = list(blocks)
    out = {'users': users}
    for k_ in ks:
        values = torch.cat([part[k_] for part in parts], dim=1)
        for name, row in zip(METRIC_NAMES, values):
            out[f'{name}@{k_}'] = row
    return out


def _ranking_blocks(*args, reduce: bool = True):
    r"""The checks of :func:`evaluate_ranking` on its arguments
    :obj:`args`, all before any work; then the users with a test item, the
    cut-offs, and the values of :func:`_block_values` block after block
    (an iterator)."""
    user_emb, item_emb, train_index, test_index, k, batch_size, score_fn = args
    for name, emb in (('user_emb', user_emb), ('item_emb', item_emb)):
        check_tensor(emb, name)
        if emb.dim() == 0 or emb.size(0) == 0:
            raise ValueError(
                f"'{name}' must have at least one row (got "
                f'shape {list(emb.shape)})'
            )
    check_callable(score_fn, 'score_fn')
    if score_fn is None:
        check_float_tensor(user_emb, 'user_emb', finite=False)
        check_float_tensor(item_emb, 'item_emb', finite=False)
        if (
            user_emb.dim() != 2
            or item_emb.dim() != 2
            or user_emb.size(1) != item_emb.size(1)
        ):
            raise ValueError(
                f"The dot-product score needs 'user_emb' [U, d] "
                f"and 'item_emb' [I, d] (got "
                f'{list(user_emb.shape)} and '
                f'{list(item_emb.shape)})'
            )
    ks = _check_ks(k)
    batch_size = check_positive_int(batch_size, 'batch_size')
    num_users, num_items = user_emb.size(0), item_emb.size(0)
    train_index, test_index = _check_pairs(
        train_index, test_index, num_users, num_items
    )
    _check_test_pairs(test_index)
    device = user_emb.device
    # A block of scores, its masked copy and the top-k work: refuse a block
    # that cannot fit before computing anything.
    check_request_size(
        2 * min(batch_size, num_users) * num_items,
        'batch_size',
        element_size=4,
        device=device,
        what='blocks of scores',
    )
    if score_fn is None:  # (They may live on two devices.)
        check_all_finite([user_emb], ['user_emb'])
        check_all_finite([item_emb], ['item_emb'])

    item_emb = item_emb.to(device)
    train, test, users = _indices(
        train_index, test_index, num_users, num_items, device
    )

    def blocks():  # what _block_values gives, block after block
        for start in range(0, users.numel(), batch_size):
            block = users[start : start + batch_size]
            if score_fn is None:
                scores = _dot_score(user_emb[block], item_emb)
            else:
                scores = check_returned(
                    score_fn(user_emb[block], item_emb),
                    'score_fn',
                    (block.numel(), num_items),
                )
            _check_block_finite(scores, block, score_fn is None)
            yield _block_values(
                scores, block, train, test, ks, score_fn is None, reduce
            )

    return users, ks, blocks()


def _check_block_finite(scores: Tensor, block: Tensor, dot: bool) -> None:
    finite = torch.isfinite(scores)
    if bool(finite.all()):
        return
    row = int((~finite).any(dim=1).nonzero()[0])
    bad = scores[row][~finite[row]][0].item()
    if dot:
        raise ValueError(
            f"The scores 'user_emb' @ 'item_emb'.T are not finite (got "
            f'{bad} for user {int(block[row])}): the embeddings are finite '
            f'but their dot product overflows {scores.dtype}'
        )
    raise ValueError(
        f"'score_fn' must return finite scores (got {bad} for user "
        f'{int(block[row])}); mask known items through '
        f"'train_index', not with -inf"
    )
