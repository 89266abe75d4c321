r"""Uniform negative sampling."""

import math

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.sampler.base import NegativeSampler


class UniformSampler(NegativeSampler):
    r"""Draws negative destinations uniformly.

    With :obj:`filtered=True`, each negative of source :math:`u` is uniform
    over the destinations that are not known positives of :math:`u`:

    .. math::
        P(v \mid u) = \frac{\mathbb{1}[(u, v) \notin \mathcal{E}]}
        {|\mathcal{V}| - \deg(u)}.

    The draw is exact and rejection free
    (:meth:`~torch_geometric_negsamp.PositiveIndex.sample_complement`), so its
    cost does not grow with a source's degree. In binary mode, sources are
    drawn proportionally to their number of valid negatives, which makes the
    pairs uniform over all non-edges.

    Args:
        mode, amount: As in
            :class:`~torch_geometric_negsamp.sampler.NegativeSampler`.
        **kwargs: Its options (:obj:`filtered`, :obj:`seed`, ...).

    Example:
        >>> sampler = UniformSampler(amount=4, seed=0).fit(edge_index, 100)
        >>> neg = sampler.sample_negatives(src)  # [B, 4]
    """

    def _propose(
        self, src: Tensor, num: int, index: PositiveIndex, key, gen
    ) -> Tensor:
        return randint(index.num_dst_nodes, num, index.device, gen)

    def _sample_filtered(
        self, src: Tensor, index: PositiveIndex, key, gen
    ) -> Tensor:
        return index.sample_complement_unchecked(src, gen)

    _sample_exact = _sample_filtered

    def _log_prob(
        self, src: Tensor, dst: Tensor, index: PositiveIndex, key
    ) -> Tensor:
        value = -math.log(index.num_dst_nodes)
        return torch.full(
            dst.shape, value, dtype=torch.float64, device=dst.device
        )
