r"""Softmax (self-adversarial) selection of hard negatives."""

from typing import Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._random import gumbel
from torch_geometric_negsamp._validate import (
    check_positive_int,
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
    (first-draw) softmax, for the logQ correction of
    :func:`~torch_geometric_negsamp.losses.sampled_softmax_loss`.

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
