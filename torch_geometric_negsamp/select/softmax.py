r"""Softmax (self-adversarial) selection of hard negatives."""

import math
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._random import gumbel
from torch_geometric_negsamp._validate import (
    check_float_tensor,
    check_ids_in_range,
    check_index_tensor,
    check_positive_int,
    check_same_shape,
    check_temperature,
)
from torch_geometric_negsamp.select._checks import check_k_fits, check_scores
from torch_geometric_negsamp.select.selector import Selector


class SoftmaxSelector(Selector):
    r"""Samples :math:`k` of :math:`M` candidates without replacement with
    probability

    .. math::
        p_{im} = \mathrm{softmax}_m(s_{im} / \tau) =
        \frac{\exp(s_{im} / \tau)}{\sum_{m'} \exp(s_{im'} / \tau)},

    the sampling form of self-adversarial negative sampling (Sun et al.,
    2019, "RotatE: Knowledge Graph Embedding by Relational Rotation in
    Complex Space", ICLR). Lower temperatures approach :class:`DNS`, higher
    ones uniform selection.

    Draws use the Gumbel-top-:math:`k` trick (:math:`\operatorname{top-}k`
    of :math:`s_{im} / \tau + g_{im}`, :math:`g_{im}` standard Gumbel)
    through the selector's generator. Along with the positions, the selector
    returns :math:`\log p_{im}` of each chosen candidate under the
    (first-draw) softmax.

    **Proposal probability.** When the :math:`M` candidates were drawn
    independently by a sampler that proposes item :math:`v` with
    probability :math:`Q(v)`, :meth:`select` hands on, for each pick
    :math:`m`,

    .. math::
        \log q_{im} = \log M + \log Q(c_{im}) + \log p_{im},

    the log-probability to pass to the logQ correction of
    :func:`~torch_geometric_negsamp.losses.sampled_softmax_loss`: with it
    the estimate :math:`\exp(s) / q` of the partition function
    :math:`\sum_v \exp(s_v)` is unbiased over both the pool and the pick
    (it equals the pool's own estimate
    :math:`\frac{1}{M} \sum_m \exp(s_m) / Q(c_m)` in expectation over the
    pick), exactly for :math:`k = 1`. For :math:`k > 1` the picks are drawn
    without replacement and :math:`p_{im}` is the first draw's
    probability: an approximation.

    Args:
        k (int, optional): Negatives per positive. (default: :obj:`1`)
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`1.0`)
        seed, generator (optional): The stream of the Gumbel noise (see
            :class:`~torch_geometric_negsamp.select.Selector`).
    """

    stochastic = True

    def __init__(
        self,
        k: int = 1,
        temperature: float = 1.0,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__(seed, generator)
        self.k = check_positive_int(k, 'k')
        self.temperature = check_temperature(temperature)

    def log_prob(self, scores: Tensor) -> Tensor:
        r"""Returns :math:`\log p_{im}` ``[B, M]`` for the finite
        ``scores`` ``[B, M]`` (detached)."""
        check_scores(scores)
        return torch.log_softmax(scores.detach() / self.temperature, dim=1)

    def forward(self, scores: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Returns ``(index [B, k], log_prob [B, k])`` for the finite
        ``scores`` ``[B, M]``: the drawn positions and their
        :math:`\log p_{im}`."""
        check_scores(scores)
        check_k_fits(self.k, scores.size(1))
        logits = scores.detach() / self.temperature
        log_prob = torch.log_softmax(logits, dim=1)
        noise = gumbel(
            logits.shape, logits.device, self.get_generator(), torch.double
        )
        index = (logits + noise).topk(self.k, dim=1).indices
        return index, log_prob.gather(1, index)

    def select(
        self,
        candidates: Tensor,
        scores: Tensor,
        log_q: Optional[Tensor] = None,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""Draws ``[B, k]`` ids among the (non-negative) candidate ids
        ``candidates`` ``[B, M]`` scored ``scores`` ``[B, M]``.

        Args:
            candidates (torch.Tensor): ``[B, M]`` candidate ids.
            scores (torch.Tensor): ``[B, M]`` finite scores.
            log_q (torch.Tensor, optional): ``[B, M]`` finite
                log-probabilities :math:`\log Q` with which a sampler
                proposed each candidate (one independent draw each, e.g.
                from :meth:`~torch_geometric_negsamp.sampler.
                NegativeSampler.sample_negatives` with
                :obj:`return_log_prob=True`). (default: :obj:`None`)

        Returns:
            The ``[B, k]`` ids; with :obj:`log_q`, also their ``[B, k]``
            proposal log-probabilities :math:`\log q_{im}` (float64).
        """
        check_index_tensor(candidates, 'candidates', dim=2)
        check_scores(scores, finite=False)
        check_same_shape(candidates, 'candidates', scores, 'scores')
        if log_q is not None:
            check_float_tensor(log_q, 'log_q', finite=False)
            check_same_shape(log_q, 'log_q', scores, 'scores')
        check_k_fits(self.k, scores.size(1))
        self._check_devices(candidates=candidates, scores=scores, log_q=log_q)
        check_ids_in_range([('candidates', candidates, None, 'item')])
        if log_q is not None:
            check_float_tensor(log_q, 'log_q')
        index, log_p = self(scores)
        ids = candidates.gather(1, index)
        if log_q is None:
            return ids
        pool = math.log(scores.size(1))
        return ids, log_q.double().gather(1, index) + pool + log_p.double()

    def extra_repr(self) -> str:
        return f'k={self.k}, temperature={self.temperature}'


def self_adversarial_weights(
    neg_scores: Tensor, temperature: float = 1.0
) -> Tensor:
    r"""The weights of self-adversarial negative sampling (Sun et al., 2019):

    .. math::
        w_{ij} = \mathrm{softmax}_j(s^-_{ij} / \tau),

    detached, so that a loss :math:`\sum_j w_{ij} \, \ell(s^-_{ij})` weighs
    each negative by its hardness without back-propagating through the
    weights.

    Args:
        neg_scores (torch.Tensor): Finite negative scores ``[B, k]``.
        temperature (float, optional): :math:`\tau > 0`.
            (default: :obj:`1.0`)

    Returns:
        ``[B, k]`` weights, each row summing to one.
    """
    check_scores(neg_scores, 'neg_scores')
    temperature = check_temperature(temperature)
    return torch.softmax(neg_scores.detach() / temperature, dim=1)
