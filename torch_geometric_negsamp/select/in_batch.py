r"""In-batch negatives with accidental-hit masking and logQ correction."""

import math
from typing import NamedTuple, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_float_tensor,
    check_ids_in_range,
    check_in_range,
    check_index_tensor,
    check_instance,
    check_num_nodes,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.select.selector import Selector


class InBatchOutput(NamedTuple):
    r"""Scores and masks for
    :func:`~torch_geometric_negsamp.losses.sampled_softmax_loss`
    (:obj:`pos` ``[B]``, :obj:`neg` ``[B, N]``, :obj:`log_q_pos`,
    :obj:`log_q_neg`, :obj:`accidental_hits` ``[B, N]``); :obj:`neg_items`
    are the ``[B, N]`` item ids behind :obj:`neg`."""

    pos: Tensor
    neg: Tensor
    neg_items: Tensor
    accidental_hits: Tensor
    log_q_pos: Optional[Tensor]
    log_q_neg: Optional[Tensor]


def item_log_frequency(train_index: Tensor, num_items: int) -> Tensor:
    r"""Returns :math:`\log p(i)` ``[I]``, the log share of item :math:`i`
    among the training interactions ``[2, E]`` (row 1 = item, in
    ``[0, I)``): the probability with which in-batch sampling proposes it.
    Unseen items get :math:`-\infty`."""
    num_items = check_num_nodes(num_items, 'num_items')
    check_index_tensor(train_index, 'train_index', dim=2, rows=2)
    if train_index.size(1) == 0:
        raise ValueError(
            "'train_index' must hold at least one interaction (got none)"
        )
    check_in_range(
        train_index[1], 'train_index', num_items, what='item id', unit='items'
    )
    count = torch.bincount(train_index[1], minlength=num_items).double()
    return (count / count.sum()).log()


class InBatchNegatives(Selector):
    r"""Uses the other positive items of the mini-batch as negatives, as in
    two-tower retrieval (Yi et al., 2019, "Sampling-Bias-Corrected Neural
    Modeling for Large Corpus Item Recommendations", RecSys), optionally
    with a set of :math:`N` uniform items shared by every row mixed in
    (mixed negative sampling, Yang et al., 2020, "Mixed Negative Sampling
    for Learning Two-tower Neural Networks in Recommendations", WWW).

    For a batch of :math:`B \geq 1` pairs :math:`(u_i, v_i)`, the negatives
    of row :math:`i` are all :math:`v_j` (then the :math:`N` mixed items). A
    negative is an *accidental hit*, masked out, when it is the row's own
    positive item or, with an :obj:`index`, any known positive of
    :math:`u_i`.

    logQ correction: an in-batch item :math:`j` was proposed with expected
    count :math:`B \, p(j)` (its training frequency, see
    :func:`item_log_frequency`), a mixed item with :math:`N / |I|`; the
    returned :obj:`log_q_*` are those logarithms,

    .. math::
        \log Q(v_j) = \log p(v_j) + \log B, \qquad
        \log Q(\text{mixed}) = \log N - \log |I|.

    Ids are checked against the number of users (with an :obj:`index`) and
    items (when known), embeddings must be finite.

    Args:
        index (PositiveIndex, optional): Known (user, item) positives for
            masking. (default: :obj:`None`, mask the row's positive only)
        item_log_q (torch.Tensor, optional): ``[I]`` log frequency of every
            item, for the correction. (default: :obj:`None`, no correction)
        num_items (int, optional): Number of items :math:`|I|`; taken from
            :obj:`index` or :obj:`item_log_q` when not given.
            (default: :obj:`None`)
    """

    def __init__(
        self,
        index: Optional[PositiveIndex] = None,
        item_log_q: Optional[Tensor] = None,
        num_items: Optional[int] = None,
    ):
        super().__init__()
        check_instance(index, 'index', PositiveIndex, optional=True)
        if num_items is not None:
            num_items = check_num_nodes(num_items, 'num_items')
        sizes = []
        if index is not None:
            sizes.append(('the index', index.num_dst_nodes))
        if item_log_q is not None:
            check_float_tensor(item_log_q, 'item_log_q', dim=1, finite=False)
            bad = torch.isnan(item_log_q) | (item_log_q == float('inf'))
            if bool(bad.any()):
                raise ValueError(
                    f"'item_log_q' must hold log-probabilities, finite or "
                    f'-inf (got {item_log_q[bad][0].item()})'
                )
            sizes.append(("'item_log_q'", item_log_q.numel()))
            if index is not None and item_log_q.device != index.device:
                raise ValueError(
                    f"'item_log_q' is on {item_log_q.device} but 'index' is "
                    f'on {index.device}; move one of them'
                )
        for what, size in sizes:
            if num_items is None:
                num_items = size
            elif size != num_items:
                raise ValueError(
                    f"'num_items' must match the {size} items of {what} "
                    f'(got {num_items})'
                )
        self.index = index
        self.num_items = num_items
        # Given data, not trained state (and -inf for items without
        # interactions): it moves with the selector but is not saved.
        self.register_buffer('item_log_q', item_log_q, persistent=False)

    @property
    def device(self) -> Optional[torch.device]:
        if self.index is not None:
            return self.index.device
        return super().device

    def _move_state(self, fn) -> None:
        if self.index is not None:
            self.index.to(self._target_device(fn, self.index.device))

    def forward(
        self,
        users: Tensor,
        items: Tensor,
        user_emb: Tensor,
        item_emb: Tensor,
        mixed_items: Optional[Tensor] = None,
        mixed_emb: Optional[Tensor] = None,
    ) -> InBatchOutput:
        r"""Scores every row against the batch's items (and the mixed
        items).

        Args:
            users (torch.Tensor): ``[B]`` user ids, :math:`B \geq 1`.
            items (torch.Tensor): ``[B]`` positive item ids.
            user_emb (torch.Tensor): ``[B, d]``.
            item_emb (torch.Tensor): ``[B, d]``, the positives' embeddings.
            mixed_items (torch.Tensor, optional): ``[N]`` item ids shared by
                every row. (default: :obj:`None`)
            mixed_emb (torch.Tensor, optional): ``[N, d]`` their embeddings.
                (default: :obj:`None`)

        Returns:
            :class:`InBatchOutput` with ``[B, B + N]`` negatives.
        """
        check_index_tensor(users, 'users', dim=1)
        check_index_tensor(items, 'items', dim=1)
        if items.shape != users.shape:
            raise ValueError(
                f"'users' and 'items' must both have shape [B] (got "
                f'{list(users.shape)} and {list(items.shape)})'
            )
        B = users.numel()
        if B == 0:
            raise ValueError(
                "'users' must hold at least one pair: in-batch negatives "
                'come from the batch (got an empty batch)'
            )
        check_float_tensor(user_emb, 'user_emb', dim=2, finite=False)
        check_float_tensor(item_emb, 'item_emb', dim=2, finite=False)
        if user_emb.size(0) != B or item_emb.shape != user_emb.shape:
            raise ValueError(
                f"'user_emb' and 'item_emb' must both have shape [{B}, d] "
                f'(got {list(user_emb.shape)} and {list(item_emb.shape)})'
            )
        if (mixed_items is None) != (mixed_emb is None):
            raise ValueError(
                "give both 'mixed_items' and 'mixed_emb' or neither (got "
                f'{"mixed_items" if mixed_emb is None else "mixed_emb"} '
                'alone)'
            )
        ids = [
            ('users', users, self._num_users(), 'user'),
            ('items', items, self.num_items, 'item'),
        ]
        finite = [(user_emb, 'user_emb'), (item_emb, 'item_emb')]
        if mixed_items is not None:
            check_index_tensor(mixed_items, 'mixed_items', dim=1)
            check_float_tensor(mixed_emb, 'mixed_emb', dim=2, finite=False)
            if mixed_emb.shape != (mixed_items.numel(), user_emb.size(1)):
                raise ValueError(
                    f"'mixed_emb' must have shape [{mixed_items.numel()}, "
                    f'{user_emb.size(1)}] (got {list(mixed_emb.shape)})'
                )
            ids.append(('mixed_items', mixed_items, self.num_items, 'item'))
            finite.append((mixed_emb, 'mixed_emb'))
        self._check_devices(
            users=users,
            items=items,
            user_emb=user_emb,
            item_emb=item_emb,
            mixed_items=mixed_items,
            mixed_emb=mixed_emb,
        )
        check_all_finite(*zip(*finite))
        check_ids_in_range(ids)

        neg_items = items.view(1, -1).expand(B, -1)
        neg_emb = item_emb
        if mixed_items is not None:
            neg_items = torch.cat(
                [neg_items, mixed_items.view(1, -1).expand(B, -1)], dim=1
            )
            neg_emb = torch.cat([item_emb, mixed_emb], dim=0)
        pos = (user_emb * item_emb).sum(-1)
        neg = user_emb @ neg_emb.t()
        hits = neg_items == items.view(-1, 1)
        if self.index is not None:
            hits |= self.index.contains_unchecked(
                users.long().view(-1, 1), neg_items.long()
            )
        log_q_pos = log_q_neg = None
        if self.item_log_q is not None:
            log_q = self.item_log_q
            log_q_pos = log_q[items] + math.log(B)
            log_q_neg = (log_q[items] + math.log(B)).view(1, -1).expand(B, -1)
            if mixed_items is not None and mixed_items.numel() > 0:
                mixed_q = torch.full(
                    (B, mixed_items.numel()),
                    math.log(mixed_items.numel() / self.num_items),
                    device=log_q.device,
                    dtype=log_q.dtype,
                )
                log_q_neg = torch.cat([log_q_neg, mixed_q], dim=1)
            log_q_pos = log_q_pos.to(pos.dtype)
            log_q_neg = log_q_neg.to(pos.dtype)
        return InBatchOutput(pos, neg, neg_items, hits, log_q_pos, log_q_neg)

    def _num_users(self) -> Optional[int]:
        return None if self.index is None else self.index.num_src_nodes

    def extra_repr(self) -> str:
        return (
            f'index={self.index is not None}, '
            f'logq={self.item_log_q is not None}, num_items={self.num_items}'
        )
