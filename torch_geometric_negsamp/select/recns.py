r"""RecNS: positive-assisted (RecNS-O) and exposure-augmented (RecNS-W)
sampling from the k-hop regions, merged in embedding space."""

from typing import Dict, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from torch_geometric_negsamp._random import sample_ranks, uniform
from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_bool,
    check_choice,
    check_float_tensor,
    check_index_tensor,
    check_instance,
    check_positive_int,
    check_probability,
    check_same_device,
)
from torch_geometric_negsamp.datasets.exposure import Exposure
from torch_geometric_negsamp.index import sorted_contains
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.select.recns_o import (
    WEIGHTINGS,
    check_alpha,
    recns_o_draw,
)
from torch_geometric_negsamp.select.recns_w import (
    OVERLAP,
    Beta,
    beta_factor,
    beta_repr,
    check_beta,
    overlap_beta,
    recns_w_pick,
)
from torch_geometric_negsamp.select.selector import Selector

#: What a row without exposure does: skip the merge (RecNS-O alone), or,
#: as the authors' code, pick its W-item by DNS among the region pool.
NO_EXPOSURE = ('recns_o_only', 'dns_on_region')
#: The counters of :meth:`RecNS.stats`, in buffer order.
COUNTERS = (
    'rows',
    'short_region',
    'empty_region',
    'short_exposure',
    'no_exposure',
)


def recns_merge(
    neg_emb: Tensor,
    exp_emb: Tensor,
    lam: Optional[float] = None,
    renorm: bool = False,
    mask: Optional[Tensor] = None,
) -> Tensor:
    r"""The merge of RecNS in embedding space (equation (11) as the
    authors' code computes it): with :math:`\mathbf{e}_{n_1}, \dots,
    \mathbf{e}_{n_K}` the RecNS-O negatives in draw order and
    :math:`\mathbf{e}_{w^*}` the RecNS-W item,

    .. math::
        \mathbf{m} = (1 - \lambda) \mathbf{e}_{n_1} + \lambda
        \mathbf{e}_{w^*}, \qquad
        \tilde{\mathbf{e}}_j = (1 - \lambda) \mathbf{e}_{n_j} + \lambda
        \mathbf{m},

    so that :math:`\tilde{\mathbf{e}}_j = (1 - \lambda)
    \mathbf{e}_{n_j} + \lambda (1 - \lambda) \mathbf{e}_{n_1} +
    \lambda^2 \mathbf{e}_{w^*}`. Use the final (propagated) embeddings;
    gradients flow into all of them.

    Args:
        neg_emb (torch.Tensor): ``[B, K, d]`` RecNS-O negatives.
        exp_emb (torch.Tensor): ``[B, d]`` RecNS-W items.
        lam (float, optional): :math:`\lambda \in [0, 1]`. (default:
            :obj:`None`, :math:`1 / K`)
        renorm (bool, optional): L2-normalise every
            :math:`\tilde{\mathbf{e}}_j`, as the authors' PinSage does for
            its normalised embeddings. (default: :obj:`False`)
        mask (torch.Tensor, optional): ``[B]`` bool, :obj:`False` for rows
            left unmerged (:math:`\tilde{\mathbf{e}}_j =
            \mathbf{e}_{n_j}`, renormalised with :obj:`renorm`).
            (default: :obj:`None`, every row merged)

    Returns:
        ``[B, K, d]`` negative embeddings for the loss.
    """
    check_float_tensor(neg_emb, 'neg_emb', dim=3, finite=False)
    check_float_tensor(exp_emb, 'exp_emb', dim=2, finite=False)
    B, K, d = neg_emb.shape
    if exp_emb.shape != (B, d):
        raise ValueError(
            f"'exp_emb' must have shape [{B}, {d}] (got {list(exp_emb.shape)})"
        )
    if K == 0:
        raise ValueError(
            f"'neg_emb' holds no negative (got shape {list(neg_emb.shape)})"
        )
    lam = 1.0 / K if lam is None else check_probability(lam, 'lam')
    check_bool(renorm, 'renorm')
    check_same_device(exp_emb, 'exp_emb', neg_emb.device, "'neg_emb'")
    if mask is not None:
        check_instance(mask, 'mask', Tensor)
        if mask.dtype != torch.bool or mask.shape != (B,):
            raise ValueError(
                f"'mask' must be a bool tensor of shape [{B}] (got "
                f'{mask.dtype}, {list(mask.shape)})'
            )
        check_same_device(mask, 'mask', neg_emb.device, "'neg_emb'")
    m = (1 - lam) * neg_emb[:, 0] + lam * exp_emb
    out = (1 - lam) * neg_emb + lam * m.unsqueeze(1)
    if mask is not None:
        out = torch.where(mask.view(B, 1, 1), out, neg_emb)
    return F.normalize(out, dim=-1) if renorm else out


class RecNSOutput(NamedTuple):
    r"""What :class:`RecNS` returns: ``emb`` ``[B, k, d]`` the merged
    negative embeddings (gradients flow), ``neg_ids`` ``[B, k]`` the
    RecNS-O negatives :math:`n_1, \dots, n_k`, ``exposed_ids`` ``[B]`` the
    RecNS-W item :math:`w^*` (:obj:`-1` where the row was not merged),
    ``log_prob`` ``[B, k]`` the log-probability of each RecNS-O pick given
    the pool, and ``candidates`` ``[B, M]`` the pool."""

    emb: Tensor
    neg_ids: Tensor
    exposed_ids: Tensor
    log_prob: Tensor
    candidates: Tensor


class RecNS(Selector):
    r"""RecNS, the negative sampler of Yang et al., `"Region or Global? A
    Principle for Negative Sampling in Graph-based Recommendation"
    <https://ieeexplore.ieee.org/document/9723581>`_ (IEEE TKDE 2022): for
    every positive :math:`(u, v)`,

    1. a pool :math:`C_u` of :math:`M` candidates, uniform without
       replacement from :math:`u`'s intermediate region (a
       :class:`~torch_geometric_negsamp.region.KHopRegion`);
    2. :math:`k` RecNS-O negatives :math:`n_1, \dots, n_k` drawn from the
       pool by positive-assisted sampling (equation (7), see
       :class:`~torch_geometric_negsamp.select.RecNSO`);
    3. one RecNS-W item :math:`w^*` chosen among :math:`M` of :math:`u`'s
       exposed items with the self-amplified factor (equations (8), (9),
       see :class:`~torch_geometric_negsamp.select.RecNSW`);
    4. the merge of both in embedding space (equation (11), see
       :func:`recns_merge`), to train with the sigmoid hinge loss
       (:func:`~torch_geometric_negsamp.losses.hinge_loss` on sigmoid
       scores, margin :math:`0.1`: the loss :obj:`"sigmoid-hinge"` of the
       training command).

    **Fallbacks** (the authors' code crashes on the first two), each
    counted per row in :meth:`stats`:

    * a user with :math:`0 < |\mathcal{I}_u| < M` draws its pool uniformly
      *with* replacement (``short_region``);
    * a user with an empty intermediate region draws its pool from the
      distant region (``empty_region``); a user whose distant region is
      empty too (it interacted with every item) raises a
      :class:`ValueError`;
    * a user with fewer than :math:`M` exposed items draws them with
      replacement (``short_exposure``);
    * a user without exposure (``no_exposure``) is left unmerged, RecNS-O
      alone (:obj:`no_exposure="recns_o_only"`, the issue's rule), or, as
      the code does, takes :math:`W_u = C_u` with :math:`\beta \equiv 1`
      (DNS over the pool) and is merged
      (:obj:`no_exposure="dns_on_region"`).

    Without :obj:`exposure`, every row takes that fallback: the default
    gives RecNS-O alone on the regions.

    Args:
        region (KHopRegion): The users' regions (the paper's :math:`k = 3`,
            :obj:`adjacent_hops=1`).
        exposure (Exposure, optional): The exposed-but-not-interacted
            items. (default: :obj:`None`)
        num_neg (int, optional): RecNS-O negatives :math:`k` per positive.
            (default: :obj:`15`)
        num_candidates (int, optional): Pool size :math:`M` (also the
            exposed items drawn per row). (default: :obj:`20`)
        alpha (float, optional): See :class:`RecNSO`. (default:
            :obj:`None`, drawn per candidate)
        weighting (str, optional): See :class:`RecNSO`. (default:
            :obj:`"sigmoid"`)
        beta (str, float or callable, optional): See :class:`RecNSW`.
            (default: :obj:`"overlap_count"`)
        lam (float, optional): :math:`\lambda` of the merge. (default:
            :obj:`None`, :math:`1 / k`)
        renorm (bool, optional): Renormalise the merged embeddings (for
            L2-normalised encoders such as PinSage). (default: :obj:`False`)
        no_exposure (str, optional): :obj:`"recns_o_only"` or
            :obj:`"dns_on_region"`. (default: :obj:`"recns_o_only"`)
        distant_share (float, optional): Probability that a pool slot is
            drawn from the distant region instead (the code's value is
            :math:`0`; the paper samples the distant region "less").
            (default: :obj:`0.0`)
        seed (int, optional): Seed of the selector's generator.
            (default: :obj:`None`)
        generator (torch.Generator, optional): A generator instead.
            (default: :obj:`None`)
    """

    stochastic = True

    def __init__(
        self,
        region: KHopRegion,
        exposure: Optional[Exposure] = None,
        num_neg: int = 15,
        num_candidates: int = 20,
        *,
        alpha: Optional[float] = None,
        weighting: str = 'sigmoid',
        beta: Beta = OVERLAP,
        lam: Optional[float] = None,
        renorm: bool = False,
        no_exposure: str = 'recns_o_only',
        distant_share: float = 0.0,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__(seed, generator)
        self.region = check_instance(region, 'region', KHopRegion)
        self.exposure = check_instance(
            exposure, 'exposure', Exposure, optional=True
        )
        if exposure is not None and (
            exposure.num_users,
            exposure.num_items,
        ) != (region.num_users, region.num_items):
            raise ValueError(
                f"'exposure' must cover the region's {region.num_users} "
                f'users and {region.num_items} items (got '
                f'{exposure.num_users} and {exposure.num_items})'
            )
        if exposure is not None:
            check_same_device(
                exposure.index.keys, 'exposure', region.device, 'the region'
            )
        self.num_neg = check_positive_int(num_neg, 'num_neg')
        self.num_candidates = check_positive_int(
            num_candidates, 'num_candidates'
        )
        self.alpha = check_alpha(alpha)
        self.weighting = check_choice(weighting, 'weighting', WEIGHTINGS)
        self.beta = check_beta(beta)
        self.lam = None if lam is None else check_probability(lam, 'lam')
        self.renorm = check_bool(renorm, 'renorm')
        self.no_exposure = check_choice(
            no_exposure, 'no_exposure', NO_EXPOSURE
        )
        self.distant_share = check_probability(distant_share, 'distant_share')
        # Users with no intermediate item draw from the distant region;
        # users with neither cannot be served (found once, here):
        empty = region.sizes() == 0
        self._any_empty = bool(empty.any())
        self._dead = (empty & (region.distant_sizes() == 0)).nonzero()
        self._dead = self._dead.view(-1)
        self.register_buffer(
            'counts',
            torch.zeros(len(COUNTERS), dtype=torch.long, device=region.device),
        )

    # -------------------------------------------------------------- state
    def _move_state(self, fn) -> None:
        device = self._target_device(fn, self.region.device)
        self.region.to(device)
        if self.exposure is not None:
            self.exposure.to(device)
        self._dead = self._dead.to(device)

    def _check_state(self, state) -> None:
        counts = state.get('counts')
        if counts is not None and (
            counts.is_floating_point() or bool((counts < 0).any())
        ):
            raise ValueError(
                "'state_dict' entry 'counts' must hold non-negative integer "
                f'counts (got {counts.tolist()})'
            )

    def stats(self) -> Dict[str, int]:
        r"""How many rows (positives) were served, and how many took each
        fallback: ``short_region``, ``empty_region``, ``short_exposure``,
        ``no_exposure`` (see the class description)."""
        return dict(zip(COUNTERS, self.counts.tolist()))

    # -------------------------------------------------------------- draws
    def _check_users(self, users) -> Tensor:
        users = self.region.check_users(users, 'users')
        if users.dim() != 1:
            raise ValueError(
                f"'users' must have shape [B] (got {list(users.shape)})"
            )
        if self._dead.numel() > 0:
            dead = sorted_contains(self._dead, users)
            if bool(dead.any()):
                raise ValueError(
                    f"user {int(users[dead][0])} in 'users' has neither an "
                    f'intermediate nor a distant item (it interacted with '
                    f'every item): no negative exists'
                )
        return users

    def _pool(self, users: Tensor, generator):
        region, M = self.region, self.num_candidates
        size = region.sizes()[users]
        rank = sample_ranks(size, M, generator)
        rows = users.unsqueeze(1).expand(-1, M)
        # Ranks of empty rows read rank 0 (never used: replaced below).
        pool = region.select_intermediate_unchecked(
            rows, torch.where(rank >= 0, rank, 0)
        )
        empty = size == 0
        if self.distant_share > 0 or self._any_empty:
            far_size = region.distant_sizes()[users]
            far_rank = sample_ranks(far_size, M, generator)
            far = region.select_distant_unchecked(
                rows, torch.where(far_rank >= 0, far_rank, 0)
            )
            use_far = empty.unsqueeze(1).expand(-1, M)
            if self.distant_share > 0:
                coin = uniform((users.numel(), M), users.device, generator)
                share = (coin < self.distant_share) & (far_size > 0)[:, None]
                use_far = use_far | share
            pool = torch.where(use_far, far, pool)
        short = (size > 0) & (size < M)
        return pool, short, empty

    def sample_pool(self, users: Tensor) -> Tensor:
        r"""Draws the ``[B, M]`` candidate pools of :obj:`users` (``[B]``)
        as :meth:`forward` does, fallbacks included (not counted)."""
        users = self._check_users(users)
        return self._pool(users, self.get_generator())[0]

    # ------------------------------------------------------------ forward
    def _check_inputs(self, users, user_emb, pos_emb, item_emb) -> Tensor:
        check_index_tensor(users, 'users', dim=1)
        check_float_tensor(user_emb, 'user_emb', dim=2, finite=False)
        check_float_tensor(pos_emb, 'pos_emb', dim=2, finite=False)
        check_float_tensor(item_emb, 'item_emb', dim=2, finite=False)
        B, d = users.numel(), item_emb.size(1)
        for name, value in (('user_emb', user_emb), ('pos_emb', pos_emb)):
            if value.shape != (B, d):
                raise ValueError(
                    f"'{name}' must have shape [{B}, {d}] (one row per user, "
                    f"as wide as 'item_emb') (got {list(value.shape)})"
                )
        if item_emb.size(0) != self.region.num_items:
            raise ValueError(
                f"'item_emb' must have one row per item, "
                f'[{self.region.num_items}, d] (got {list(item_emb.shape)})'
            )
        self._check_devices(
            users=users, user_emb=user_emb, pos_emb=pos_emb, item_emb=item_emb
        )
        users = self._check_users(users)
        check_all_finite(
            [user_emb, pos_emb, item_emb], ['user_emb', 'pos_emb', 'item_emb']
        )
        return users

    def forward(
        self,
        users: Tensor,
        user_emb: Tensor,
        pos_emb: Tensor,
        item_emb: Tensor,
        epoch: Optional[int] = None,
    ) -> RecNSOutput:
        r"""The RecNS negatives of a batch of positives.

        Args:
            users (torch.Tensor): ``[B]`` user ids.
            user_emb (torch.Tensor): ``[B, d]`` final embeddings of the
                users.
            pos_emb (torch.Tensor): ``[B, d]`` final embeddings of their
                positive items.
            item_emb (torch.Tensor): ``[I, d]`` final embeddings of all
                items (the merged negatives are gathered from it, with
                gradients).
            epoch (int, optional): The epoch, for a callable :obj:`beta`.
                (default: :obj:`None`)

        Returns:
            :class:`RecNSOutput`.
        """
        users = self._check_inputs(users, user_emb, pos_emb, item_emb)
        factor = beta_factor(self.beta, epoch)
        generator = self.get_generator()
        pool, short, empty = self._pool(users, generator)
        with torch.no_grad():
            cand_emb = item_emb.detach()[pool]
        index, log_prob, _ = recns_o_draw(
            user_emb,
            pos_emb,
            cand_emb,
            self.num_neg,
            self.alpha,
            self.weighting,
            generator,
        )
        neg_ids = pool.gather(1, index)
        neg_emb = item_emb[neg_ids]
        B = users.numel()
        has = torch.zeros(B, dtype=torch.bool, device=users.device)
        short_exp = has
        if self.exposure is not None:
            count = self.exposure.sizes_unchecked(users)
            has = count > 0
            short_exp = has & (count < self.num_candidates)
        merged = has | (self.no_exposure == 'dns_on_region')
        exposed_ids = torch.full_like(users, -1)
        emb = neg_emb
        if self.exposure is not None or self.no_exposure == 'dns_on_region':
            w_star = self._recns_w(
                users, user_emb, item_emb, pool, has, factor, generator
            )
            emb = recns_merge(
                neg_emb, item_emb[w_star], self.lam, self.renorm, merged
            )
            exposed_ids = torch.where(merged, w_star, -1)
        self.counts += torch.stack(
            [
                torch.tensor(B, device=users.device),
                short.sum(),
                empty.sum(),
                short_exp.sum(),
                (~has).sum(),
            ]
        )
        return RecNSOutput(emb, neg_ids, exposed_ids, log_prob, pool)

    def _recns_w(self, users, user_emb, item_emb, pool, has, factor, gen):
        if self.exposure is not None:
            drawn = self.exposure.sample_unchecked(
                users, self.num_candidates, gen
            )
            exposed = torch.where(has.unsqueeze(1), drawn, pool)
            beta = overlap_beta(exposed, pool, factor)
            beta = torch.where(has.unsqueeze(1), beta, 1.0)
        else:
            exposed = pool
            beta = torch.ones(
                pool.shape, dtype=torch.double, device=pool.device
            )
        with torch.no_grad():
            exp_emb = item_emb.detach()[exposed]
        pick = recns_w_pick(user_emb, exp_emb, beta)
        return exposed.gather(1, pick.unsqueeze(1)).squeeze(1)

    def extra_repr(self) -> str:
        exposure = 'None' if self.exposure is None else self.exposure.source
        if self.exposure is not None and self.exposure.simulated:
            exposure = f'SIMULATED {exposure}'
        return (
            f'num_neg={self.num_neg}, num_candidates={self.num_candidates}, '
            f"alpha={self.alpha}, weighting='{self.weighting}', "
            f'{beta_repr(self.beta)}, lam={self.lam}, renorm={self.renorm}, '
            f"no_exposure='{self.no_exposure}', "
            f'distant_share={self.distant_share}, exposure={exposure!r}'
        )
