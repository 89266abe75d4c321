r"""SRNS-style false-negative avoidance: hard negatives whose scores vary
across recent epochs."""

from typing import Any, Callable, Dict, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp._validate import (
    check_bool,
    check_float_tensor,
    check_ids_in_range,
    check_index_tensor,
    check_int,
    check_positive_int,
    check_real,
    check_request_size,
    check_returned,
    check_same_shape,
)
from torch_geometric_negsamp.sampler.base import NegativeSampler
from torch_geometric_negsamp.select._checks import (
    check_k_fits,
    check_negative_rows,
    check_scores,
    check_source_sampler,
)
from torch_geometric_negsamp.select.selector import Selector

#: The history's mark of an entry without a record (a record lies in
#: [0, 1]).
_EMPTY = -1.0

#: Users scored at once by :meth:`SRNS.record`, times the pool size.
_CHUNK = 2**20


class SRNS(Selector):
    r"""False-negative avoidance after Ding et al. (2020), "Simplify and
    Robustify Negative Sampling for Implicit Collaborative Filtering"
    (NeurIPS). False negatives (unobserved items the user would like) score
    high *and stably* across epochs; informative hard negatives score high
    but fluctuate. So the selection adds the spread of a candidate's recent
    scores to its current hardness.

    **Memory.** Every user :math:`u` owns a pool of :math:`P` negatives
    (buffer :obj:`pool` ``[U, P]``, drawn once by a filtered static
    :obj:`sampler`) and a ring buffer of their scores in the last
    :math:`E` epochs (buffer :obj:`history` ``[E, U, P]``, the epoch of
    each slot in :obj:`stamps` ``[E]``, :math:`-1` marking an entry
    without a record), :math:`U P E` floats in all:
    :meth:`record` stores, once per epoch :math:`\tau`,

    .. math::
        h_\tau(u, c) = \sigma\bigl(s_\tau(u, c) - \bar{s}_\tau(u)\bigr),

    with :math:`\bar{s}_\tau(u)` a reference score of the user's positives
    (the trainer passes the mean score of the user's training items), so
    that the common drift of a user's scores during training does not
    count as variation.

    **Selection** at epoch :math:`t`, for a positive :math:`(u, p)`: among
    :math:`M` pool entries drawn uniformly (:meth:`propose`), keep the
    :math:`k` with the largest

    .. math::
        \ell_c + \alpha \, \min(1, t / T_w) \, \mathrm{std}_c, \qquad
        \ell_c = \sigma\bigl(s_t(u, c) - s_t(u, p)\bigr),

    where :math:`\mathrm{std}_c` is the (population) standard deviation of
    the recorded :math:`h_\tau(u, c)` over the epochs
    :math:`\tau \in (t - E, t]` (0 with fewer than two records; see
    :meth:`std`, also a diagnostic).

    Differences from the authors' code (``dingjingtao/SRNS``, TF 1.14): the
    per-user memory of :math:`S_1` pool entries, refreshed by softmax
    sampling, is replaced by :math:`M` uniform draws from the pool at every
    step; the reference score is the user's mean positive score rather
    than the positive's own past scores; and the pool is not replaced
    wholesale every epoch: with :obj:`refresh=True` (the default), at each
    :meth:`record` the entries :math:`c \equiv \tau \pmod E` are redrawn
    and their history cleared, so that every entry lives :math:`E` epochs
    and a user meets :math:`P / E` new negatives per epoch within a memory
    of :math:`U P E` floats; with :obj:`refresh=False` the pool stays as
    drawn.

    The selection is an arg-max of scores computed under
    :func:`torch.no_grad`. The selector's generator draws the pool entries
    of :meth:`propose`; the pool itself comes from the sampler's own stream.

    **Proposal probability.** The pick is an arg-max: SRNS hands on no
    log-probability, and a sampled softmax trained with it runs without
    logQ correction.

    Args:
        sampler (NegativeSampler): A fitted static sampler, filtered with
            :obj:`on_unsatisfiable="raise"`.
        num_users (int): Number of users :math:`U` (sources ``0 .. U - 1``),
            at most the sampler's number of source nodes.
        pool_size (int, optional): :math:`P`. (default: :obj:`100`)
        window (int, optional): :math:`E`, the epochs of scores kept.
            (default: :obj:`5`, as in the reference code)
        alpha (float, optional): :math:`\alpha \geq 0`, the weight of the
            spread. (default: :obj:`5.0`, as in the reference ``run.sh``)
        warmup (int, optional): :math:`T_w` in epochs (:obj:`0`: none).
            (default: :obj:`50`, as in the reference ``run.sh``)
        k (int, optional): Negatives kept per positive. (default: :obj:`1`)
        refresh (bool, optional): Redraw :math:`P / E` pool entries per
            recorded epoch. (default: :obj:`True`)
        edge_type (tuple, optional): The sampler's edge type, for
            heterogeneous data. (default: :obj:`None`)
        seed, generator (optional): The random stream of :meth:`propose`,
            as in :class:`~torch_geometric_negsamp.select.Selector`.
            (default: :obj:`None`)
    """

    stochastic = True

    def __init__(
        self,
        sampler: NegativeSampler,
        num_users: int,
        pool_size: int = 100,
        window: int = 5,
        alpha: float = 5.0,
        warmup: int = 50,
        k: int = 1,
        refresh: bool = True,
        edge_type=None,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__(seed, generator)
        index = check_source_sampler(
            sampler, num_users, edge_type, 'num_users'
        )
        self.num_users = check_positive_int(num_users, 'num_users')
        self.pool_size = check_positive_int(pool_size, 'pool_size')
        self.window = check_positive_int(window, 'window')
        self.alpha = check_real(alpha, 'alpha', minimum=0.0)
        self.warmup = check_int(warmup, 'warmup', minimum=0)
        self.k = check_positive_int(k, 'k')
        self.refresh = check_bool(refresh, 'refresh')
        self.sampler, self.edge_type = sampler, edge_type
        U, P, E = self.num_users, self.pool_size, self.window
        check_request_size(
            U * P, 'pool_size', device=index.device, what='the pools'
        )
        check_request_size(
            U * P * E,
            'window',
            element_size=4,
            device=index.device,
            what=f'the score history (pool_size={P})',
        )
        users = torch.arange(U, device=index.device)
        pool = sampler.sample_negatives(users, num_neg=P, edge_type=edge_type)
        self.register_buffer('pool', pool)
        self.register_buffer(
            'history', torch.full((E, U, P), _EMPTY, device=pool.device)
        )
        self.register_buffer(
            'stamps',
            torch.full((E,), -1, dtype=torch.long, device=pool.device),
        )

    def _move_state(self, fn) -> None:
        index = self.sampler.index(self.edge_type)
        self.sampler.to(self._target_device(fn, index.device))

    @property
    def last_recorded(self) -> int:
        r"""The latest epoch :meth:`record` stored (-1: none yet)."""
        return int(self.stamps.max())

    def ramp(self, epoch: int) -> float:
        r""":math:`\min(1, t / T_w)` at epoch :obj:`epoch` (1 without
        warm-up)."""
        epoch = check_int(epoch, 'epoch', minimum=0)
        return 1.0 if self.warmup == 0 else min(1.0, epoch / self.warmup)

    def _check_users(self, users: Tensor) -> None:
        check_index_tensor(users, 'users', dim=1)
        self._check_devices(users=users)
        check_ids_in_range([('users', users, self.num_users, 'user')])

    # ------------------------------------------------------------- memory
    @torch.no_grad()
    def record(
        self,
        epoch: int,
        score_fn: Callable[[Tensor, Tensor], Tensor],
        reference: Tensor,
    ) -> None:
        r"""Stores the scores of every user's pool at epoch :obj:`epoch`
        (after redrawing this epoch's share of the pool when
        :obj:`refresh=True`), in the slot of the oldest epoch.

        Args:
            epoch (int): The epoch :math:`\tau \geq 0`.
            score_fn (callable): Maps ``(users [S], items [S, P])`` to finite
                floating-point scores ``[S, P]`` under the current model
                (called on chunks of users).
            reference (torch.Tensor): The reference score
                :math:`\bar{s}_\tau(u)` of every user, finite, ``[U]``.
        """
        epoch = check_int(epoch, 'epoch', minimum=0)
        if not callable(score_fn):
            raise TypeError(
                f"'score_fn' must be callable (got {type(score_fn).__name__})"
            )
        check_float_tensor(reference, 'reference', dim=1)
        if reference.numel() != self.num_users:
            raise ValueError(
                f"'reference' must hold one score per user "
                f'({self.num_users}) (got {reference.numel()})'
            )
        self._check_devices(reference=reference)
        U, P, E = self.num_users, self.pool_size, self.window
        slot = epoch % E
        pool = self.pool
        if self.refresh:
            cols = torch.arange(slot, P, E, device=pool.device)
            if cols.numel() > 0:
                pool = pool.clone()
                pool[:, cols] = self.sampler.sample_negatives(
                    torch.arange(U, device=pool.device),
                    num_neg=cols.numel(),
                    edge_type=self.edge_type,
                )
        values = torch.empty(U, P, device=pool.device)
        step = max(1, _CHUNK // P)
        for start in range(0, U, step):
            users = torch.arange(
                start, min(U, start + step), device=pool.device
            )
            items = pool[users]
            scores = _returned(score_fn(users, items), items)
            values[users] = torch.sigmoid(
                scores.float() - reference[users, None].float()
            )
        # Everything checked: change the state.
        if self.refresh:
            self.pool.copy_(pool)
            self.history[:, :, cols] = _EMPTY
        self.history[slot] = values
        self.stamps[slot] = epoch

    def std(self, users: Tensor, positions: Tensor, epoch: int) -> Tensor:
        r"""The standard deviation ``[B, M]`` of the recorded
        :math:`h_\tau(u, c)` of the pool entries :obj:`positions`
        ``[B, M]`` (in ``[0, P)``) of :obj:`users` ``[B]`` over the epochs
        :math:`\tau \in (t - E, t]`; 0 where fewer than two are
        recorded."""
        epoch = check_int(epoch, 'epoch', minimum=0)
        self._check_entries(users, positions)
        return self._std(users, positions, epoch)

    def _check_entries(self, users: Tensor, positions: Tensor) -> None:
        check_index_tensor(users, 'users', dim=1)
        check_index_tensor(positions, 'positions', dim=2)
        if positions.size(0) != users.numel():
            raise ValueError(
                f"'positions' must have one row per user ({users.numel()}) "
                f'(got shape {list(positions.shape)})'
            )
        self._check_devices(users=users, positions=positions)
        check_ids_in_range(
            [
                ('users', users, self.num_users, 'user'),
                ('positions', positions, self.pool_size, 'pool entry'),
            ]
        )

    def _std(self, users: Tensor, positions: Tensor, epoch: int) -> Tensor:
        stamps = self.stamps
        live = (
            (stamps >= 0) & (stamps <= epoch) & (stamps > epoch - self.window)
        )
        slots = live.nonzero().view(-1)
        values = self.history[
            slots[:, None, None], users[None, :, None], positions[None]
        ]  # [S, B, M]
        seen = values >= 0
        count = seen.sum(0)
        values = values * seen
        mean = values.sum(0) / count.clamp(min=1)
        spread = ((values - mean) ** 2 * seen).sum(0) / count.clamp(min=1)
        return spread.sqrt().masked_fill(count < 2, 0.0)

    # ---------------------------------------------------------- selection
    def propose(self, users: Tensor, num: int) -> Tuple[Tensor, Tensor]:
        r"""Draws :obj:`num` pool entries per user, uniformly with
        replacement: returns their positions and item ids, both
        ``[B, num]``."""
        num = check_positive_int(num, 'num')
        self._check_users(users)
        check_request_size(users.numel() * num, 'num', device=users.device)
        high = torch.full(
            (users.numel(), num), self.pool_size, device=users.device
        )
        positions = randint_below(high, self.get_generator())
        return positions, self.pool[users[:, None], positions]

    def forward(
        self,
        users: Tensor,
        positions: Tensor,
        scores: Tensor,
        pos_scores: Tensor,
        epoch: int,
    ) -> Tensor:
        r"""Returns the ``[B, k]`` columns (in ``[0, M)``) of the kept
        entries, best first, for the pool entries :obj:`positions`
        ``[B, M]`` of :obj:`users` ``[B]``, their current finite scores
        ``scores`` ``[B, M]`` and those of the positives ``pos_scores``
        ``[B]``, at epoch :obj:`epoch`."""
        epoch = check_int(epoch, 'epoch', minimum=0)
        self._check_entries(users, positions)
        check_scores(scores, finite=False)
        check_float_tensor(pos_scores, 'pos_scores', dim=1, finite=False)
        check_same_shape(scores, 'scores', positions, 'positions')
        if pos_scores.numel() != users.numel():
            raise ValueError(
                f"'pos_scores' must hold one score per user "
                f'({users.numel()}) (got {pos_scores.numel()})'
            )
        check_k_fits(self.k, scores.size(1))
        self._check_devices(scores=scores, pos_scores=pos_scores)
        check_scores(scores)
        check_float_tensor(pos_scores, 'pos_scores')
        with torch.no_grad():
            hard = torch.sigmoid(scores - pos_scores[:, None])
            weight = self.alpha * self.ramp(epoch)
            if weight > 0:
                hard = hard + weight * self._std(users, positions, epoch)
            return hard.topk(self.k, dim=1).indices

    def _check_state(self, state: Dict[str, Any]) -> None:
        if 'pool' in state:
            check_negative_rows(
                state['pool'],
                "state_dict['pool']",
                self.sampler.index(self.edge_type),
                self.num_users,
            )
        if 'history' in state:
            history = state['history']
            bad = (history != _EMPTY) & ((history < 0) | (history > 1))
            if bool(bad.any()):
                raise ValueError(
                    "'state_dict' entry 'history' must hold values in "
                    f'[0, 1] or {_EMPTY} (no record) (got '
                    f'{history[bad].view(-1)[0].item()})'
                )
        if 'stamps' in state and bool((state['stamps'] < -1).any()):
            raise ValueError(
                "'state_dict' entry 'stamps' must hold epochs >= -1 (got "
                f'{int(state["stamps"].min())})'
            )

    def extra_repr(self) -> str:
        return (
            f'num_users={self.num_users}, pool_size={self.pool_size}, '
            f'window={self.window}, alpha={self.alpha}, '
            f'warmup={self.warmup}, k={self.k}, refresh={self.refresh}'
        )


def _returned(scores: Any, items: Tensor) -> Tensor:
    r"""What :obj:`score_fn` returned for :obj:`items`: finite floating-point
    scores of their shape, on their device."""
    check_returned(scores, 'score_fn', items.shape, items.device)
    return check_float_tensor(scores, 'score_fn')
