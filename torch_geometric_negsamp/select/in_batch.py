r"""In-batch negatives with accidental-hit masking and logQ correction."""

import math
from typing import NamedTuple, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp.index import PositiveIndex


class InBatchOutput(NamedTuple):
    r"""Scores and masks for
    :func:`~torch_geometric_negsamp.losses.sampled_softmax_loss`
    (:obj:`pos`, :obj:`neg`, :obj:`log_q_pos`, :obj:`log_q_neg`,
    :obj:`accidental_hits`); :obj:`neg_items` are the ``[B, N]`` item ids
    behind :obj:`neg`."""

    pos: Tensor
    neg: Tensor
    neg_items: Tensor
    accidental_hits: Tensor
    log_q_pos: Optional[Tensor]
    log_q_neg: Optional[Tensor]


def item_log_frequency(train_index: Tensor, num_items: int) -> Tensor:
    r"""Returns :math:`\log p(i)`, the log share of item :math:`i` among the
    training interactions ``[2, E]`` (row 1 = item): the probability with
    which in-batch sampling proposes it. Unseen items get :math:`-\infty`."""
    count = torch.bincount(train_index[1], minlength=num_items).double()
    return (count / count.sum()).log()


class InBatchNegatives:
    r"""Uses the other positive items of the mini-batch as negatives, as in
    two-tower retrieval (Yi et al., 2019, "Sampling-Bias-Corrected Neural
    Modeling for Large Corpus Item Recommendations"), optionally mixed with a
    shared pool of uniform items (mixed negative sampling, Yang et al., 2020,
    "Mixed Negative Sampling for Learning Two-tower Neural Networks in
    Recommendations").

    For a batch of :math:`B` pairs :math:`(u_i, v_i)`, the negatives of row
    :math:`i` are all :math:`v_j` (then the :math:`N` pool items). A negative
    is an *accidental hit*, masked out, when it is the row's own positive
    item or, with an :obj:`index`, any known positive of :math:`u_i`.

    logQ correction: an in-batch item :math:`j` was proposed with expected
    count :math:`B \, p(j)` (its training frequency, see
    :func:`item_log_frequency`), a pool item with :math:`N / |I|`; the
    returned :obj:`log_q_*` are those logarithms.

    Args:
        index (PositiveIndex, optional): Known (user, item) positives for
            masking. (default: :obj:`None`, mask the row's positive only)
        item_log_q (torch.Tensor, optional): ``[I]`` log frequency of every
            item, for the correction. (default: :obj:`None`, no correction)
        num_items (int, optional): Number of items (for the pool's
            correction). (default: :obj:`None`)
    """

    def __init__(
        self,
        index: Optional[PositiveIndex] = None,
        item_log_q: Optional[Tensor] = None,
        num_items: Optional[int] = None,
    ):
        if index is not None and not isinstance(index, PositiveIndex):
            raise TypeError(
                f"'index' must be a PositiveIndex (got {type(index).__name__})"
            )
        if item_log_q is not None and (
            not isinstance(item_log_q, Tensor) or item_log_q.dim() != 1
        ):
            raise TypeError("'item_log_q' must be a 1-D tensor")
        self.index = index
        self.item_log_q = item_log_q
        self.num_items = num_items

    def __call__(
        self,
        users: Tensor,
        items: Tensor,
        user_emb: Tensor,
        item_emb: Tensor,
        pool_items: Optional[Tensor] = None,
        pool_emb: Optional[Tensor] = None,
    ) -> InBatchOutput:
        r"""Scores every row against the batch's items (and the pool).

        Args:
            users (torch.Tensor): ``[B]`` user ids.
            items (torch.Tensor): ``[B]`` positive item ids.
            user_emb (torch.Tensor): ``[B, d]``.
            item_emb (torch.Tensor): ``[B, d]``, the positives' embeddings.
            pool_items (torch.Tensor, optional): ``[N]`` extra item ids.
            pool_emb (torch.Tensor, optional): ``[N, d]`` their embeddings.
        """
        B = users.numel()
        if users.dim() != 1 or items.shape != users.shape:
            raise ValueError(
                f"'users' and 'items' must both have shape [B] "
                f'(got {list(users.shape)} and '
                f'{list(items.shape)})'
            )
        if (
            user_emb.dim() != 2
            or user_emb.size(0) != B
            or item_emb.shape != user_emb.shape
        ):
            raise ValueError(
                f"'user_emb' and 'item_emb' must both have "
                f'shape [{B}, d] (got {list(user_emb.shape)} '
                f'and {list(item_emb.shape)})'
            )
        if (pool_items is None) != (pool_emb is None):
            raise ValueError(
                "give both 'pool_items' and 'pool_emb' or neither"
            )
        neg_items = items.view(1, -1).expand(B, -1)
        neg_emb = item_emb
        if pool_items is not None:
            if (
                pool_emb.dim() != 2
                or pool_emb.size(0) != pool_items.numel()
                or pool_emb.size(1) != user_emb.size(1)
            ):
                raise ValueError(
                    f"'pool_emb' must have shape "
                    f'[{pool_items.numel()}, '
                    f'{user_emb.size(1)}] (got '
                    f'{list(pool_emb.shape)})'
                )
            neg_items = torch.cat(
                [neg_items, pool_items.view(1, -1).expand(B, -1)], dim=1
            )
            neg_emb = torch.cat([item_emb, pool_emb], dim=0)
        pos = (user_emb * item_emb).sum(-1)
        neg = user_emb @ neg_emb.t()
        hits = neg_items == items.view(-1, 1)
        if self.index is not None:
            hits |= self.index.contains(users.view(-1, 1), neg_items)
        log_q_pos = log_q_neg = None
        if self.item_log_q is not None:
            log_q = self.item_log_q.to(user_emb.device)
            log_q_pos = log_q[items] + math.log(B)
            log_q_neg = (log_q[items] + math.log(B)).view(1, -1).expand(B, -1)
            if pool_items is not None:
                if self.num_items is None:
                    raise ValueError(
                        "'num_items' is needed for the logQ "
                        'correction of a uniform pool'
                    )
                pool_q = torch.full(
                    (B, pool_items.numel()),
                    math.log(pool_items.numel() / self.num_items),
                    device=user_emb.device,
                    dtype=log_q.dtype,
                )
                log_q_neg = torch.cat([log_q_neg, pool_q], dim=1)
            log_q_pos = log_q_pos.to(pos.dtype)
            log_q_neg = log_q_neg.to(pos.dtype)
        return InBatchOutput(pos, neg, neg_items, hits, log_q_pos, log_q_neg)

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(index={self.index is not None}, '
            f'logq={self.item_log_q is not None})'
        )
