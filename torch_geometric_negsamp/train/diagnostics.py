r"""What the negative sampler does, measured while training:
:class:`NegativeDiagnostics`, the per-epoch accumulator behind the
``neg_*`` columns of ``metrics.csv`` (defined in ``docs/training.md``)."""

import math
import time
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below, uniform
from torch_geometric_negsamp._validate import (
    check_callable,
    check_choice,
    check_int,
    check_num_nodes,
    check_seed,
    check_tensor,
    check_user_item_index,
)
from torch_geometric_negsamp.index import PositiveIndex

#: The columns :meth:`NegativeDiagnostics.summary` adds to every
#: evaluation row, in order.
DIAGNOSTIC_KEYS = (
    'neg_false_negative_rate',
    'neg_false_negative_split',
    'neg_hardness',
    'neg_popularity_ratio',
    'neg_short_rows',
    'neg_sampling_share',
)

# Slots of the device-side counters (int64, summed over the epoch):
_REAL, _FALSE, _NEG_DEGREE, _POS, _POS_DEGREE, _SHORT = range(6)

Value = Optional[Union[float, int, str]]


class NegativeDiagnostics:
    r"""Accumulates, over one training epoch, what the negative strategy
    hands the loss, and summarises it at evaluation time:

    * :obj:`neg_false_negative_rate`: the share of the epoch's real
      negatives (synthetic ones excluded) that are positives of the
      held-out split :obj:`holdout` (validation, or test when there is
      none; named in :obj:`neg_false_negative_split`). Held-out pairs that
      are also training pairs are left out: no filtered sampler can draw
      them.
    * :obj:`neg_hardness`: the mean percentile rank of a negative's score
      among all items for its user,

      .. math::
          h(u, v) = \frac{|\{i : s_{ui} < s_{uv}\}| + \frac{1}{2}
          (|\{i : s_{ui} = s_{uv}\}| - 1)}{|I| - 1} \in [0, 1],

      (1: the item the model scores highest, 0: the lowest; the user's
      positives count among the items), averaged over a uniform sample of
      :obj:`sample_size` of the epoch's (user, negative) pairs (a
      bottom-:math:`S` reservoir of random keys, no host synchronisation),
      scored with the model of the evaluation.
    * :obj:`neg_popularity_ratio`: the mean training degree of the real
      negatives over that of the batch's positive items (1: as popular as
      the positives; below 1: rarer).
    * :obj:`neg_short_rows`: the positives trained with fewer negatives
      than asked: dropped by the sampler (:obj:`dropped`), padded with a
      negative id, or with every negative masked as an accidental hit.
    * :obj:`neg_sampling_share`: the share of the step time spent in the
      strategy call (:meth:`begin_sampling` to :meth:`end_sampling` over
      :meth:`begin_step` to :meth:`end_step`), timed with CUDA events on a
      GPU, read at evaluation only.

    A value that cannot be measured (no real negative seen, e.g. MixGCF's
    synthetic ones, no step timed, :obj:`sample_size=0`) is :obj:`None`.
    Every per-step update runs on the device, with one host
    synchronisation in :meth:`summary`.

    Args:
        train_index (torch.Tensor): ``[2, E]`` training (user, item) pairs.
        holdout_index (torch.Tensor): ``[2, E']`` held-out pairs whose
            presence among the negatives makes them false negatives.
        num_users (int): Number of users.
        num_items (int): Number of items.
        holdout (str, optional): The split :obj:`holdout_index` is,
            :obj:`"val"` or :obj:`"test"`. (default: :obj:`"val"`)
        sample_size (int, optional): The (user, negative) pairs ranked for
            :obj:`neg_hardness` per epoch (0: not measured).
            (default: :obj:`4096`)
        dropped (callable, optional): Returns the sampler's running count
            of dropped positives (read at :meth:`reset` and
            :meth:`summary`). (default: :obj:`None`)
    """

    def __init__(
        self,
        train_index: Tensor,
        holdout_index: Tensor,
        num_users: int,
        num_items: int,
        *,
        holdout: str = 'val',
        sample_size: int = 4096,
        dropped: Optional[Callable[[], int]] = None,
    ):
        U = check_num_nodes(num_users, 'num_users')
        I = check_num_nodes(num_items, 'num_items')
        train = check_user_item_index(train_index, 'train_index', U, I)
        held = check_user_item_index(holdout_index, 'holdout_index', U, I)
        held = held.to(train.device)
        self.holdout = check_choice(holdout, 'holdout', ('val', 'test'))
        self.sample_size = check_int(sample_size, 'sample_size', minimum=0)
        self.dropped = check_callable(dropped, 'dropped')
        self.num_users, self.num_items = U, I
        self.device = train.device
        seen = PositiveIndex(train, U, I).contains_unchecked(held[0], held[1])
        held = held[:, ~seen]
        self.holdout_index = PositiveIndex(held, U, I)
        # The held-out pairs, distinct (for the count of rows x columns):
        keys = self.holdout_index.keys
        self._held_users = torch.div(keys, I, rounding_mode='floor')
        self._held_items = keys - self._held_users * I
        self.degree = torch.bincount(train[1], minlength=I)
        self._generator = torch.Generator(device=self.device)
        self._cuda = self.device.type == 'cuda'
        self.reset(0)

    # ------------------------------------------------------------ epochs
    def reset(self, seed: int) -> None:
        r"""Starts a new epoch: every count back to zero, the sample's
        random stream restarted from :obj:`seed`."""
        self._generator.manual_seed(check_seed(seed))
        self._counts = torch.zeros(6, dtype=torch.long, device=self.device)
        S = self.sample_size
        self._keys = torch.full(
            (S,), math.inf, dtype=torch.float64, device=self.device
        )
        self._pairs = torch.zeros(2, S, dtype=torch.long, device=self.device)
        self._dropped_at_reset = self.dropped() if self.dropped else 0
        self._seconds = [0.0, 0.0]  # sampling, step (CPU clock)
        self._events: List[Tuple] = []
        self._marks: List = []

    # ------------------------------------------------------------ timing
    def _mark(self) -> None:
        if self._cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record(torch.cuda.current_stream(self.device))
            self._marks.append(event)
        else:
            self._marks.append(time.perf_counter())

    def begin_step(self) -> None:
        r"""Marks the start of a training step."""
        self._marks = []
        self._mark()

    def begin_sampling(self) -> None:
        r"""Marks the start of the strategy call."""
        self._mark()

    def end_sampling(self) -> None:
        r"""Marks the end of the strategy call."""
        self._mark()

    def end_step(self) -> None:
        r"""Marks the end of the training step (after the optimiser's)."""
        self._mark()
        marks, self._marks = self._marks, []
        if len(marks) != 4:
            raise RuntimeError(
                'the step was not timed as begin_step, begin_sampling, '
                f'end_sampling, end_step (got {len(marks)} marks)'
            )
        if self._cuda:
            self._events.append(tuple(marks))
        else:
            self._seconds[0] += marks[2] - marks[1]
            self._seconds[1] += marks[3] - marks[0]

    def _timed_seconds(self) -> Tuple[float, float]:
        if not self._events:
            return self._seconds[0], self._seconds[1]
        self._events[-1][3].synchronize()
        sampling = sum(e[1].elapsed_time(e[2]) for e in self._events)
        step = sum(e[0].elapsed_time(e[3]) for e in self._events)
        return sampling / 1000, step / 1000

    # -------------------------------------------------------- negatives
    def observe(
        self,
        users: Tensor,
        pos: Tensor,
        ids: Optional[Tensor],
        masked: Optional[Tensor] = None,
    ) -> None:
        r"""Feeds one step's negatives (no check of the ids' values, no
        host synchronisation).

        Args:
            users (torch.Tensor): ``[B]`` users of the batch's positives.
            pos (torch.Tensor): ``[B]`` their positive items.
            ids (torch.Tensor, optional): The real negative item ids: ``[B,
                k]`` (row :math:`i` for positive :math:`i`; a negative id
                marks padding), or ``[N]`` shared by every row (in-batch,
                queue); :obj:`None` when the step's negatives are not real
                items (synthetic), which counts nothing but the positives.
            masked (torch.Tensor, optional): ``[B, k]`` or ``[B, N]``
                boolean, :obj:`True` where an entry is not used as a
                negative (an accidental hit: a training positive of the
                row's user). (default: :obj:`None`)
        """
        check_tensor(users, 'users')
        check_tensor(pos, 'pos')
        counts = self._counts
        B = users.numel()
        counts[_POS] += B
        counts[_POS_DEGREE] += self.degree[pos].sum()
        if ids is None:
            return
        users = users.long()
        if ids.dim() == 1:
            self._observe_shared(users, ids.long(), masked)
            return
        if ids.dim() != 2 or ids.size(0) != B:
            raise ValueError(
                f"'ids' must have shape [{B}, k] or [N] (got "
                f'{list(ids.shape)})'
            )
        valid = ids >= 0
        short = ~valid.all(1)
        if masked is not None:
            valid = valid & ~masked
        short = short | ~valid.any(1)
        ids = torch.where(valid, ids.long(), 0)
        row_users = users.view(-1, 1).expand_as(ids)
        false = self.holdout_index.contains_unchecked(row_users, ids)
        counts[_REAL] += valid.sum()
        counts[_FALSE] += (false & valid).sum()
        counts[_NEG_DEGREE] += (self.degree[ids] * valid).sum()
        counts[_SHORT] += short.sum()
        if self.sample_size > 0:
            self._offer(row_users.reshape(-1), ids.reshape(-1), valid, 1.0)

    def _observe_shared(
        self, users: Tensor, cols: Tensor, masked: Optional[Tensor]
    ) -> None:
        B, N, counts = users.numel(), cols.numel(), self._counts
        dev = cols.device
        col_ok = cols >= 0
        cols = torch.where(col_ok, cols, 0)
        if masked is None:
            valid = col_ok.view(1, -1).expand(B, N)
        else:
            if masked.shape != (B, N):
                raise ValueError(
                    f"'masked' must have shape [{B}, {N}] (got "
                    f'{list(masked.shape)})'
                )
            valid = col_ok.view(1, -1) & ~masked
        per_col = valid.sum(0)
        counts[_REAL] += per_col.sum()
        counts[_NEG_DEGREE] += (self.degree[cols] * per_col).sum()
        counts[_SHORT] += (~valid.any(1)).sum()
        # Row i meets column j once for every (i, j): the held-out pairs
        # among them are sum over held-out (u, v) of rows(u) * cols(v).
        # Masked entries are training positives, never held out.
        # (scatter_add_, not bincount: no host synchronisation on a GPU)
        rows = torch.zeros(self.num_users, dtype=torch.long, device=dev)
        rows.scatter_add_(0, users, torch.ones_like(users))
        per_item = torch.zeros(self.num_items, dtype=torch.long, device=dev)
        per_item.scatter_add_(0, cols, col_ok.long())
        held = rows[self._held_users] * per_item[self._held_items]
        counts[_FALSE] += held.sum()
        if self.sample_size > 0 and B * N > 0:
            if B * N <= self.sample_size:
                row, col = torch.meshgrid(
                    torch.arange(B, device=dev),
                    torch.arange(N, device=dev),
                    indexing='ij',
                )
                row, col, weight = row.reshape(-1), col.reshape(-1), 1.0
            else:
                # A uniform subsample of the step's pairs, each standing
                # for B * N / S of them in the reservoir's keys.
                S = self.sample_size
                row = self._below(B, S)
                col = self._below(N, S)
                weight = B * N / S
            self._offer(users[row], cols[col], valid[row, col], weight)

    def _below(self, high: int, size: int) -> Tensor:
        bound = torch.full((size,), high, device=self.device)
        return randint_below(bound, self._generator)

    def _offer(
        self, users: Tensor, items: Tensor, valid: Tensor, weight: float
    ) -> None:
        # Weighted bottom-S sampling (Efraimidis and Spirakis, 2006): every
        # pair gets the key Exp(1) / weight, the S smallest keys are kept.
        u = uniform(users.shape, self.device, self._generator)
        keys = -torch.log1p(-u) / weight
        keys = torch.where(valid.reshape(-1), keys, math.inf)
        keys = torch.cat([self._keys, keys])
        pairs = torch.cat([self._pairs, torch.stack([users, items])], dim=1)
        self._keys, order = keys.topk(self.sample_size, largest=False)
        self._pairs = pairs[:, order]

    # ---------------------------------------------------------- summary
    @torch.no_grad()
    def hardness(
        self,
        user_emb: Tensor,
        item_emb: Tensor,
        batch_size: int = 1024,
        score_fn: Optional[Callable[[Tensor, Tensor], Tensor]] = None,
    ) -> Optional[float]:
        r"""The mean percentile rank of the sampled pairs' scores among
        all items (:obj:`None` without a sample, or with a single item).

        Args:
            user_emb (torch.Tensor): ``[U, d]`` user representations.
            item_emb (torch.Tensor): ``[I, d]`` item representations.
            batch_size (int, optional): Pairs ranked at once.
                (default: :obj:`1024`)
            score_fn (callable, optional): ``(user_emb[users], item_emb)
                -> [n, I]`` scores. (default: the dot product)
        """
        batch_size = check_int(batch_size, 'batch_size', minimum=1)
        keep = torch.isfinite(self._keys)
        users, items = self._pairs[0][keep], self._pairs[1][keep]
        if users.numel() == 0 or self.num_items < 2:
            return None
        total = 0.0
        for start in range(0, users.numel(), batch_size):
            u = users[start : start + batch_size]
            v = items[start : start + batch_size]
            if score_fn is None:
                scores = user_emb[u] @ item_emb.t()
            else:
                scores = score_fn(user_emb[u], item_emb)
            own = scores.gather(1, v.view(-1, 1))
            below = (scores < own).sum(1).double()
            ties = (scores == own).sum(1).double() - 1
            total += float((below + 0.5 * ties).sum())
        return total / (users.numel() * (self.num_items - 1))

    def summary(
        self,
        user_emb: Optional[Tensor] = None,
        item_emb: Optional[Tensor] = None,
        batch_size: int = 1024,
        score_fn: Optional[Callable[[Tensor, Tensor], Tensor]] = None,
    ) -> Dict[str, Value]:
        r"""The :obj:`DIAGNOSTIC_KEYS` of the epoch so far (one host
        synchronisation; the hardness needs the embeddings, see
        :meth:`hardness`)."""
        real, false, neg_deg, num_pos, pos_deg, short = self._counts.tolist()
        if self.dropped is not None:
            short += self.dropped() - self._dropped_at_reset
        hard = None
        if user_emb is not None and item_emb is not None:
            hard = self.hardness(user_emb, item_emb, batch_size, score_fn)
        ratio = None
        if real > 0 and pos_deg > 0:
            ratio = (neg_deg / real) / (pos_deg / num_pos)
        sampling, step = self._timed_seconds()
        return {
            'neg_false_negative_rate': false / real if real > 0 else None,
            'neg_false_negative_split': self.holdout,
            'neg_hardness': hard,
            'neg_popularity_ratio': ratio,
            'neg_short_rows': short,
            'neg_sampling_share': sampling / step if step > 0 else None,
        }

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_users={self.num_users}, '
            f'num_items={self.num_items}, holdout={self.holdout!r}, '
            f'sample_size={self.sample_size})'
        )


__all__ = ['NegativeDiagnostics', 'DIAGNOSTIC_KEYS']
