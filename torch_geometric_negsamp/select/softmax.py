r"""Softmax (self-adversarial) selection of hard negatives."""

from typing import Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import check_temperature
from torch_geometric_negsamp.select._utils import (
    check_k,
    check_scores,
    gumbel,
    make_generator,
)


class SoftmaxSelector:
    r"""Samples :math:`k` of :math:`M` candidates without replacement with
    probability :math:`\mathrm{softmax}(s / \tau)`, the sampling form of
    self-adversarial negative sampling (Sun et al., 2019, "RotatE: Knowledge
    Graph Embedding by Relational Rotation in Complex Space", ICLR). Lower
    temperatures approach :class:`DNS`, higher ones uniform selection.

    Draws use the Gumbel-top-:math:`k` trick through the selector's
    generator. Along with the positions, the selector returns the log
    probability of each chosen candidate under the (first-draw) softmax, for
    the logQ correction of
    :func:`~torch_geometric_negsamp.losses.sampled_softmax_loss`.

    Args:
        k (int, optional): Negatives per positive. (default: :obj:`1`)
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`1.0`)
        seed (int, optional): Seed of the selector's generator.
        generator (torch.Generator, optional): A generator instead.
    """

    def __init__(
        self,
        k: int = 1,
        temperature: float = 1.0,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        self.k = check_k(k)
        self.temperature = check_temperature(temperature)
        self.generator = make_generator(seed, generator)

    def __call__(self, scores: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Returns ``(index [B, k], log_prob [B, k])`` for ``scores``
        ``[B, M]``."""
        scores = check_scores(scores)
        check_k(self.k, scores.size(1))
        logits = scores.detach() / self.temperature
        log_prob = torch.log_softmax(logits, dim=1)
        noise = gumbel(logits.shape, logits.device, self.generator)
        index = (logits + noise).topk(self.k, dim=1).indices
        return index, log_prob.gather(1, index)

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(k={self.k}, '
            f'temperature={self.temperature})'
        )


def self_adversarial_weights(
    neg_scores: Tensor, temperature: float = 1.0
) -> Tensor:
    r"""The weights of self-adversarial negative sampling (Sun et al., 2019):
    :math:`w_{ij} = \mathrm{softmax}_j(s^-_{ij} / \tau)`, detached, so that a
    loss :math:`\sum_j w_{ij} \, \ell(s^-_{ij})` weighs each negative by its
    hardness without back-propagating through the weights.

    Args:
        neg_scores (torch.Tensor): Negative scores ``[B, k]``.
        temperature (float, optional): :math:`\tau > 0`.
            (default: :obj:`1.0`)

    Returns:
        ``[B, k]`` weights, each row summing to one.
    """
    neg_scores = check_scores(neg_scores, 'neg_scores')
    temperature = check_temperature(temperature)
    return torch.softmax(neg_scores.detach() / temperature, dim=1)
