r"""Adaptive hardness negative sampling (AHNS)."""

from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_float_tensor,
    check_ids_in_range,
    check_index_tensor,
    check_positive_int,
    check_positive_real,
    check_real,
    check_same_shape,
)
from torch_geometric_negsamp.select._checks import check_k_fits, check_scores
from torch_geometric_negsamp.select.selector import Selector


class AHNS(Selector):
    r"""Adaptive hardness negative sampling of Lai et al. (2024), "Adaptive
    Hardness Negative Sampling for Collaborative Filtering" (AAAI): the
    hardness of the negative follows the positive's score. From a pool of
    :math:`M` candidates per positive (proposed by any static sampler), keep
    the :math:`k` whose scores lie closest to a target set by the
    positive's score :math:`s^+_i`,

    .. math::
        t_i = \beta \, \max(s^+_i + \alpha, \epsilon)^{p + 1}, \qquad
        \mathcal{N}_i = \operatorname{top-}k_{m}
        \; \bigl(-\lvert s_{im} - t_i \rvert\bigr).

    With the default :math:`p = -2` the target is
    :math:`\beta / (s^+_i + \alpha)`: the worse the model scores the
    positive, the harder the negative it is given; a well-ranked positive
    gets an easier one, which keeps hard negatives (and false negatives
    among them) from dominating late training. The authors' code
    (``Riwei-HEU/AHNS``) computes :math:`t_i` without the guard
    :math:`\max(\cdot, \epsilon)`; with it, a positive scored below
    :math:`\epsilon - \alpha` gets the finite target
    :math:`\beta \epsilon^{p + 1}` (for :math:`p < -1` the hardest
    candidates) instead of an infinite or negative one.

    The selection runs on scores computed under :func:`torch.no_grad`
    (inner products of the layer-combined embeddings, as in the reference
    code); gradients then flow through the chosen negatives' embeddings.
    AHNS draws nothing at random and holds no tensor state.

    **Proposal probability.** The pick is a deterministic function of the
    pool's scores, so the probability that it proposes an item depends on
    every item's score, not on the pool alone: AHNS hands on no
    log-probability, and a sampled softmax trained with it runs without
    logQ correction.

    Args:
        k (int, optional): Negatives kept per positive. (default: :obj:`1`)
        alpha (float, optional): The offset :math:`\alpha`.
            (default: :obj:`1.0`)
        beta (float, optional): The scale :math:`\beta`.
            (default: :obj:`0.1`)
        p (float, optional): The exponent :math:`p`; the target decreases
            with :math:`s^+` for :math:`p < -1`. (default: :obj:`-2.0`)
        eps (float, optional): The guard :math:`\epsilon > 0`.
            (default: :obj:`1e-3`)

    Example:
        >>> cand = sampler.sample_negatives(users, num_neg=32)   # [B, 32]
        >>> with torch.no_grad():
        ...     scores = (user_emb[users, None] * item_emb[cand]).sum(-1)
        ...     pos = (user_emb[users] * item_emb[pos_items]).sum(-1)
        >>> neg = AHNS().select(cand, scores, pos)                # [B, 1]
    """

    def __init__(
        self,
        k: int = 1,
        alpha: float = 1.0,
        beta: float = 0.1,
        p: float = -2.0,
        eps: float = 1e-3,
    ):
        super().__init__()
        self.k = check_positive_int(k, 'k')
        self.alpha = check_real(alpha, 'alpha')
        self.beta = check_real(beta, 'beta')
        self.p = check_real(p, 'p')
        self.eps = check_positive_real(eps, 'eps')

    def target(self, pos_scores: Tensor) -> Tensor:
        r"""The target score :math:`t_i` ``[B]`` of each positive, from its
        finite scores ``pos_scores`` ``[B]``."""
        check_float_tensor(pos_scores, 'pos_scores', dim=1)
        return self._target(pos_scores.detach())

    def _target(self, pos_scores: Tensor) -> Tensor:
        base = (pos_scores + self.alpha).clamp(min=self.eps)
        return self.beta * base.pow(self.p + 1)

    def _check(self, scores: Tensor, pos_scores: Tensor) -> None:
        check_scores(scores, finite=False)
        check_float_tensor(pos_scores, 'pos_scores', dim=1, finite=False)
        if pos_scores.numel() != scores.size(0):
            raise ValueError(
                f"'pos_scores' must hold one score per row of 'scores' "
                f'({scores.size(0)}) (got {pos_scores.numel()})'
            )
        check_k_fits(self.k, scores.size(1))

    def _pick(self, scores: Tensor, pos_scores: Tensor) -> Tensor:
        check_scores(scores)
        check_float_tensor(pos_scores, 'pos_scores')
        target = self._target(pos_scores.detach()).unsqueeze(1)
        distance = (scores.detach() - target).abs()
        return distance.topk(self.k, dim=1, largest=False).indices

    def forward(self, scores: Tensor, pos_scores: Tensor) -> Tensor:
        r"""Returns the ``[B, k]`` positions (in ``[0, M)``) of the
        candidates closest to the target, closest first, from the finite
        candidate scores ``scores`` ``[B, M]`` and positive scores
        ``pos_scores`` ``[B]``."""
        self._check(scores, pos_scores)
        self._check_devices(scores=scores, pos_scores=pos_scores)
        return self._pick(scores, pos_scores)

    def select(
        self, candidates: Tensor, scores: Tensor, pos_scores: Tensor
    ) -> Tensor:
        r"""Returns the ``[B, k]`` selected ids among the (non-negative)
        candidate ids ``candidates`` ``[B, M]`` scored ``scores``
        ``[B, M]``, for positives scored ``pos_scores`` ``[B]``."""
        check_index_tensor(candidates, 'candidates', dim=2)
        self._check(scores, pos_scores)
        check_same_shape(candidates, 'candidates', scores, 'scores')
        self._check_devices(
            candidates=candidates, scores=scores, pos_scores=pos_scores
        )
        check_ids_in_range([('candidates', candidates, None, 'item')])
        return candidates.gather(1, self._pick(scores, pos_scores))

    def extra_repr(self) -> str:
        return (
            f'k={self.k}, alpha={self.alpha}, beta={self.beta}, '
            f'p={self.p}, eps={self.eps}'
        )
