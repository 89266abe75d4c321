r"""MCNS: Metropolis-Hastings negative sampling."""

import math
from typing import Any, Dict, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_choice,
    check_float_tensor,
    check_ids_in_range,
    check_in_range,
    check_index_tensor,
    check_instance,
    check_int,
    check_positive_int,
    check_positive_real,
    check_real,
    check_request_size,
    check_same_shape,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.select._mcns_kernel import (
    MHKernel,
    proposal_data,
)
from torch_geometric_negsamp.select.selector import Selector

PROPOSALS = ('region', 'state')
TARGETS = ('power', 'code')


class MCNS(Selector):
    r"""Markov chain Monte Carlo negative sampling of Yang et al. (2020),
    `"Understanding Negative Sampling in Graph Representation Learning"
    <https://arxiv.org/abs/2005.09863>`_ (KDD), exact and vectorised.

    The paper's principle: the negative distribution should be positively
    but sub-linearly correlated with the positive one. With the model's
    score :math:`s(u, y) = \mathbf{e}_u \cdot \mathbf{e}_y` standing in for
    the positive distribution, the *target* of user :math:`u` is

    .. math::
        \pi_u(y) \propto \begin{cases}
            f(s(u, y)) & y \notin \mathcal{P}_u \\
            0 & y \in \mathcal{P}_u \end{cases}, \qquad
        f(s) = \max(s, \epsilon)^{\alpha} \;\; (\texttt{"power"}) \quad
        \text{or} \quad \sigma(\max(s, 0)^{\alpha}) \;\; (\texttt{"code"}),

    over the items that are not known positives :math:`\mathcal{P}_u` of
    :obj:`index` (extra positives included). Every user keeps one
    Metropolis-Hastings chain (the buffer :obj:`state`), started on its
    first use from a uniform non-positive and run :obj:`burn_in` steps;
    every negative then costs :obj:`steps_per_draw` steps, and the
    :math:`k` negatives of a row are :math:`k` consecutive states. A step
    from :math:`x` proposes :math:`y \sim q(\cdot \mid x)` and moves there
    with probability

    .. math::
        A(x, y) = \min\left(1, \frac{\pi_u(y)\, q(x \mid y)}
        {\pi_u(x)\, q(y \mid x)}\right),

    with one uniform per chain and step. As :math:`\pi_u` vanishes on the
    positives, a chain never moves onto one: no negative is a known
    positive.

    **Proposals** (both exact mixture densities in both directions; with
    :math:`q_g` = :obj:`global_share` and :math:`\mathcal{V}'_u` the
    user's non-positives):

    * :obj:`"region"` (default): the independence proposal that mixes the
      global distribution with the user's intermediate region
      :math:`\mathcal{I}_u` of a :class:`~torch_geometric_negsamp.region.
      KHopRegion`,

      .. math::
          q_u(y) = \frac{q_g\, \mathbb{1}[y \in \mathcal{V}'_u]}
          {|\mathcal{V}'_u|} + (1 - q_g)
          \frac{\mathbb{1}[y \in \mathcal{I}_u]}{|\mathcal{I}_u|}

      (the global part alone where :math:`\mathcal{I}_u` is empty);
    * :obj:`"state"`: the paper's state-dependent form, the global part
      mixed with a uniform draw from the co-interaction set
      :math:`\mathcal{N}(x)` of the current item (row :math:`x` of
      :math:`R^\top R`, :math:`x` left out; built from :obj:`edge_index`),

      .. math::
          q(y \mid x) = \frac{q_g\, \mathbb{1}[y \in \mathcal{V}'_u]}
          {|\mathcal{V}'_u|} + (1 - q_g)
          \frac{\mathbb{1}[y \in \mathcal{N}(x)]}{|\mathcal{N}(x)|}

      (the global part alone where :math:`\mathcal{N}(x)` is empty).

    A proposal may hit a positive (an item of :math:`\mathcal{N}(x)`, or an
    extra positive of :obj:`index` that the region does not know); it is
    then refused, and the law stays exact. Unlike the authors' code, the
    ratio uses the mixture density (not the chosen component's), every
    chain has its own uniforms, the state is returned (not the last
    proposal), scores below zero give no NaN, and positives are never
    drawn (see ``docs/select.md``).

    MCMC output has no closed-form law: :meth:`target_log_prob` gives the
    exact target :math:`\log \pi_u`, which the chains reach only after
    mixing. The acceptance rate since :meth:`reset_statistics` is
    :attr:`acceptance_rate`.

    Args:
        index (PositiveIndex): The known positives (training and extra).
        region (KHopRegion, optional): The users' regions, for
            :obj:`proposal="region"` (same users and items as
            :obj:`index`). (default: :obj:`None`)
        proposal (str, optional): :obj:`"region"` or :obj:`"state"`.
            (default: :obj:`"region"`)
        edge_index (torch.Tensor, optional): The training interactions
            ``[2, E]``, for :obj:`proposal="state"`. (default: :obj:`None`)
        f (str, optional): The target's weight, :obj:`"power"` or
            :obj:`"code"` (the authors' code, NaN-free). (default:
            :obj:`"power"`)
        alpha (float, optional): The exponent :math:`\alpha > 0`.
            (default: :obj:`0.25`)
        eps (float, optional): :math:`\epsilon > 0` of :obj:`"power"`.
            (default: :obj:`1e-6`)
        global_share (float, optional): :math:`q_g \in (0, 1]`.
            (default: :obj:`0.5`)
        burn_in (int, optional): Steps on a chain's first use.
            (default: :obj:`10`)
        steps_per_draw (int, optional): Steps per negative.
            (default: :obj:`1`)
        memory_budget (int, optional): Bytes the build of the
            co-interaction sets may hold (:obj:`"state"`). (default:
            :obj:`None`, the region's default)
        seed (int, optional): Seed of the chains' generator.
            (default: :obj:`None`)
        generator (torch.Generator, optional): A generator instead.
            (default: :obj:`None`)

    Example:
        >>> index = PositiveIndex(train_index, num_users, num_items)
        >>> region = KHopRegion(train_index, (num_users, num_items), k=3)
        >>> mcns = MCNS(index, region, seed=0)
        >>> with torch.no_grad():
        ...     neg = mcns(users, user_emb[users], item_emb, k=4)  # [B, 4]
        >>> mcns.acceptance_rate
    """

    stochastic = True

    def __init__(
        self,
        index: PositiveIndex,
        region: Optional[KHopRegion] = None,
        *,
        proposal: str = 'region',
        edge_index: Optional[Tensor] = None,
        f: str = 'power',
        alpha: float = 0.25,
        eps: float = 1e-6,
        global_share: float = 0.5,
        burn_in: int = 10,
        steps_per_draw: int = 1,
        memory_budget: Optional[int] = None,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__(seed, generator)
        self.index = check_instance(index, 'index', PositiveIndex)
        self.proposal = check_choice(proposal, 'proposal', PROPOSALS)
        self.f = check_choice(f, 'f', TARGETS)
        self.alpha = check_positive_real(alpha, 'alpha')
        self.eps = check_positive_real(eps, 'eps')
        self.global_share = check_real(
            global_share, 'global_share', minimum=0.0, maximum=1.0
        )
        if self.global_share == 0.0:
            # Without the global part the chain could not leave the region:
            # the law would not be the target over every non-positive.
            raise ValueError(
                "'global_share' must be positive: the global part keeps "
                'every non-positive reachable (got 0)'
            )
        self.burn_in = check_int(burn_in, 'burn_in', minimum=0)
        self.steps_per_draw = check_positive_int(
            steps_per_draw, 'steps_per_draw'
        )
        self.num_users = index.num_src_nodes
        self.num_items = index.num_dst_nodes
        self.region, self.co_items = proposal_data(
            self.proposal, index, region, edge_index, memory_budget
        )
        self.kernel = MHKernel(
            index,
            self.region,
            self.co_items,
            self.f,
            self.alpha,
            self.eps,
            self.global_share,
        )
        # -1: the chain has not started.
        self.register_buffer(
            'state', torch.full((self.num_users,), -1, device=index.device)
        )
        zero = torch.zeros((), dtype=torch.long, device=index.device)
        self.register_buffer('_accepted', zero.clone(), persistent=False)
        self.register_buffer('_proposed', zero.clone(), persistent=False)

    def _move_state(self, fn) -> None:
        self.kernel.to(self._target_device(fn, self.index.device))

    # ------------------------------------------------------------ checks
    def _check_ids(self, users, items: Dict[str, Any]) -> None:
        r"""The kinds and shapes of :obj:`users` ``[B]`` and of the item
        ids :obj:`items` (each ``[B]``)."""
        check_index_tensor(users, 'users', dim=1)
        for name, value in items.items():
            check_index_tensor(value, name, dim=1)
            check_same_shape(value, name, users, 'users')

    def _check_ranges(self, users, items: Dict[str, Tensor]) -> Tensor:
        r"""Every id in range (one host synchronisation); returns the users
        as :obj:`long`."""
        check_ids_in_range(
            [('users', users, self.num_users, 'user')]
            + [(n, v, self.num_items, 'item') for n, v in items.items()]
        )
        return users.long()

    def _check_call(self, users, user_emb, item_emb, **items) -> Tensor:
        r"""Checks a call's arguments (ids, shapes, devices, values) and
        returns the users as :obj:`long`."""
        self._check_ids(users, items)
        check_float_tensor(user_emb, 'user_emb', dim=2, finite=False)
        check_float_tensor(item_emb, 'item_emb', dim=2, finite=False)
        if user_emb.size(0) != users.numel():
            raise ValueError(
                f"'user_emb' must have one row per entry of 'users' "
                f'({users.numel()}) (got shape {list(user_emb.shape)})'
            )
        if item_emb.size(0) != self.num_items:
            raise ValueError(
                f"'item_emb' must have one row per item ({self.num_items}) "
                f'(got shape {list(item_emb.shape)})'
            )
        if user_emb.size(1) != item_emb.size(1):
            raise ValueError(
                f"'user_emb' must have the embedding size of 'item_emb' "
                f'({item_emb.size(1)}) (got {user_emb.size(1)})'
            )
        self._check_devices(
            users=users, user_emb=user_emb, item_emb=item_emb, **items
        )
        users = self._check_ranges(users, items)
        check_all_finite([user_emb, item_emb], ['user_emb', 'item_emb'])
        return users

    def _check_batch(self, users: Tensor, current=None) -> bool:
        r"""Raises if a user is a positive of every item; returns whether
        a chain of the batch (at :obj:`current`) starts now (one host
        synchronisation)."""
        empty = self.kernel.num_candidates[users] <= 0
        starts = (current < 0).any() if current is not None else empty.any()
        flags = torch.stack([empty.any(), starts]).tolist()
        if flags[0]:
            raise ValueError(
                f"user {int(users[empty][0])} in 'users' is a known positive "
                f'of all {self.num_items} items; no negative exists'
            )
        return flags[1]

    # ------------------------------------------------------------- chain
    @torch.no_grad()
    def forward(
        self, users: Tensor, user_emb: Tensor, item_emb: Tensor, k: int = 1
    ) -> Tensor:
        r"""Advances the chains of :obj:`users` and returns ``[B, k]``
        negatives: for each row, :math:`k` consecutive states of its user's
        chain, one every :obj:`steps_per_draw` steps (after :obj:`burn_in`
        steps where the chain starts). A user that appears in several rows
        runs one continuation per row from the same state; the last row's
        chain is kept.

        Args:
            users (torch.Tensor): ``[B]`` user ids.
            user_emb (torch.Tensor): ``[B, d]`` the rows' user embeddings.
            item_emb (torch.Tensor): ``[I, d]`` all item embeddings.
            k (int, optional): Negatives per row. (default: :obj:`1`)
        """
        k = check_positive_int(k, 'k')
        users = self._check_call(users, user_emb, item_emb)
        B, draws = users.numel(), k * self.steps_per_draw
        check_request_size(
            B * (self.burn_in + draws + 1) * item_emb.size(1),
            'k',
            device=item_emb.device,
            what='the chain steps',
        )
        current = self.state[users]
        burn = self.burn_in if self._check_batch(users, current) else 0
        generator = self.get_generator()
        start = self.kernel.draw_global(users, generator)
        # Started chains skip the burn-in steps of the call.
        first = torch.where(current >= 0, burn, 0)
        x = torch.where(current >= 0, current, start)
        steps = burn + draws
        if self.proposal == 'region':
            run = self.kernel.run_region
        else:
            run = self.kernel.run_state
        x, kept, accepted, active = run(
            users, x, first, steps, user_emb, item_emb, generator
        )
        step = self.steps_per_draw
        out = kept[:, burn + step - 1 :: step].contiguous()
        # Every row of a user writes its last row's state (deterministic
        # with repeated users).
        row = torch.arange(B, device=users.device)
        last = torch.full_like(self.state, -1)
        last = last.scatter_reduce(0, users, row, 'amax')
        self.state[users] = x[last[users]]
        self._accepted += accepted.sum()
        self._proposed += active.sum()
        return out

    # --------------------------------------------------------- diagnostics
    @torch.no_grad()
    def acceptance_probability(
        self,
        users: Tensor,
        current: Tensor,
        proposed: Tensor,
        user_emb: Tensor,
        item_emb: Tensor,
    ) -> Tensor:
        r"""The probability :math:`A(x, y)` that a step of the chain of
        :obj:`users` ``[B]`` at the non-positive :obj:`current` ``[B]``
        moves to :obj:`proposed` ``[B]`` (the quantity every step
        compares with its uniform)."""
        users = self._check_call(
            users, user_emb, item_emb, current=current, proposed=proposed
        )
        x, y = current.long(), proposed.long()
        self._check_non_positive(users, x, 'current')
        items = torch.stack([x, y], 1)
        scores = self.kernel.scores(user_emb, item_emb, items)
        log_pi = self.kernel.log_target(users.view(-1, 1), items, scores)
        if self.proposal == 'region':
            grid = users.view(-1, 1).expand_as(items)
            log_w = self.kernel.log_weight_region(grid, items, log_pi)
            log_a = log_w[:, 1] - log_w[:, 0]
        else:
            log_a = self.kernel.log_ratio_state(
                users, x, y, log_pi[:, 0], log_pi[:, 1]
            )
        return log_a.clamp(max=0.0).exp()

    def proposal_log_prob(
        self,
        users: Tensor,
        proposed: Tensor,
        current: Optional[Tensor] = None,
    ) -> Tensor:
        r"""The proposal's log-density :math:`\log q_u(y)` of
        :obj:`proposed` ``[B]`` for :obj:`users` ``[B]`` (float64), given the
        :obj:`current` items ``[B]`` for :obj:`proposal="state"`.
        :math:`-\infty` where the proposal never goes."""
        ids = {'proposed': proposed}
        if self.proposal == 'state':
            if current is None:
                raise ValueError(
                    "'current' must be given for proposal='state' (got None)"
                )
            ids['current'] = current
        self._check_ids(users, ids)
        self._check_devices(users=users, **ids)
        users = self._check_ranges(users, ids)
        self._check_batch(users)
        y = proposed.long()
        if self.proposal == 'region':
            return self.kernel.log_q_region(users, y)
        x = current.long()
        near = self.co_items.contains_unchecked(x, y)
        return self.kernel.log_q_state(users, x, y, near)

    @torch.no_grad()
    def target_log_prob(
        self, users: Tensor, user_emb: Tensor, item_emb: Tensor
    ) -> Tensor:
        r"""The exact target :math:`\log \pi_u(y)` over all items,
        ``[B, I]`` (float64; :math:`-\infty` on the positives). The chains'
        output follows it once they have mixed; it is not the law of a
        single draw."""
        users = self._check_call(users, user_emb, item_emb)
        check_request_size(
            users.numel() * self.num_items, 'users', device=users.device
        )
        self._check_batch(users)
        items = torch.arange(self.num_items, device=users.device)
        items = items.view(1, -1).expand(users.numel(), -1)
        scores = self.kernel.scores(user_emb, item_emb, items)
        log_pi = self.kernel.log_target(users.view(-1, 1), items, scores)
        return log_pi - log_pi.logsumexp(dim=1, keepdim=True)

    @property
    def acceptance_rate(self) -> float:
        r"""The share of accepted proposals since the last
        :meth:`reset_statistics` (burn-in steps included; NaN before the
        first step)."""
        stats = self.statistics()
        if stats['proposed'] == 0:
            return math.nan
        return stats['accepted'] / stats['proposed']

    def statistics(self) -> Dict[str, int]:
        r"""The steps run (:obj:`"proposed"`) and moves made
        (:obj:`"accepted"`) since the last :meth:`reset_statistics`."""
        accepted, proposed = torch.stack(
            [self._accepted, self._proposed]
        ).tolist()
        return {'accepted': accepted, 'proposed': proposed}

    def reset_statistics(self) -> None:
        r"""Restarts the counts of :meth:`statistics` (e.g. every epoch)."""
        self._accepted.zero_()
        self._proposed.zero_()

    def started(self) -> Tensor:
        r"""Boolean ``[num_users]``: the users whose chain has started."""
        return self.state >= 0

    # ------------------------------------------------------------- state
    def _check_non_positive(self, users, items, name: str) -> None:
        hit = self.index.contains_unchecked(users, items)
        if items.numel() > 0 and bool(hit.any()):
            i = int(hit.nonzero()[0, 0])
            raise ValueError(
                f"'{name}' holds item {int(items[i])}, a known positive of "
                f'user {int(users[i])}; a chain never stands on one'
            )

    def _check_state(self, state: Dict[str, Any]) -> None:
        if 'state' not in state:
            return
        name = "state_dict['state']"
        value = check_index_tensor(state['state'], name)
        value = value.to(self.index.device).long()
        if int(value.min()) < -1:
            raise ValueError(
                f"'{name}' holds {int(value.min())}; an entry is an item "
                f'id or -1 (a chain not started)'
            )
        started = value >= 0
        check_in_range(
            value[started], name, self.num_items, what='item id', unit='items'
        )
        users = torch.arange(self.num_users, device=value.device)
        self._check_non_positive(users[started], value[started], name)

    def extra_repr(self) -> str:
        return (
            f'num_users={self.num_users}, num_items={self.num_items}, '
            f'proposal={self.proposal!r}, f={self.f!r}, alpha={self.alpha}, '
            f'global_share={self.global_share}, burn_in={self.burn_in}, '
            f'steps_per_draw={self.steps_per_draw}'
        )
