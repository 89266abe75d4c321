r"""Uniform negative sampling."""

from typing import Optional

from torch import Tensor

from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.sampler.base import (
    NegativeSampler,
    _randint,
)


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
        mode (str, optional): :obj:`"triplet"` or :obj:`"binary"`.
            (default: :obj:`"triplet"`)
        amount (int or float, optional): Negatives per positive.
            (default: :obj:`1`)
        **kwargs: Options of
            :class:`~torch_geometric_negsamp.sampler.NegativeSampler`
            (:obj:`filtered`, :obj:`seed`, ...).

    Example:
        >>> sampler = UniformSampler(amount=4, seed=0).fit(edge_index, 100)
        >>> neg = sampler.sample_negatives(src)  # [B, 4]
    """

    def _propose(
        self,
        src: Optional[Tensor],
        num: int,
        index: PositiveIndex,
        edge_type,
        generator,
    ) -> Tensor:
        return _randint(index.num_dst_nodes, num, index.device, generator)

    def _sample_filtered(
        self, src: Tensor, index: PositiveIndex, edge_type, generator
    ) -> Tensor:
        return index.sample_complement_unchecked(src, generator)

    def _filtered_src_weight(self, index: PositiveIndex, edge_type) -> Tensor:
        if self.src_weight is not None:
            return super()._filtered_src_weight(index, edge_type)
        # Proportional to the number of valid negatives: pairs are then
        # uniform over all non-edges.
        weight = (index.num_dst_nodes - index.degree()).double()
        if not bool((weight > 0).any()):
            return super()._filtered_src_weight(index, edge_type)
        return weight
