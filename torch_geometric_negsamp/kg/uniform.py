r"""Uniform head / tail corruption (Bordes et al., 2013)."""

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import check_choice
from torch_geometric_negsamp.kg.base import TripleCorruption

#: The probability of replacing the head, by :obj:`corrupt` choice.
HEAD_PROBABILITY = {'both': 0.5, 'head': 1.0, 'tail': 0.0}


def fixed_head_probability(relation: Tensor, corrupt: str) -> Tensor:
    r"""The head probability of :obj:`corrupt` (``'both'``, ``'head'`` or
    ``'tail'``) for every entry of :obj:`relation`, float64."""
    return torch.full(
        relation.shape,
        HEAD_PROBABILITY[corrupt],
        dtype=torch.float64,
        device=relation.device,
    )


class UniformCorruption(TripleCorruption):
    r"""Corrupts the head or the tail of knowledge-graph triples
    :math:`(h, r, t)` with probability :math:`1/2` each, replacing it by an
    entity drawn uniformly, as in Bordes et al., "Translating Embeddings
    for Modeling Multi-relational Data" (NeurIPS 2013):

    .. math::
        P(\text{replace } h) = P(\text{replace } t) = \frac{1}{2},
        \qquad
        h' \sim \mathcal{U}\{e : (e, r, t) \notin \mathcal{K}\}

    (and likewise :math:`t'`), where :math:`\mathcal{K}` holds the known
    triples in the filtered setting. :obj:`corrupt="head"` or
    :obj:`"tail"` replaces one side only (e.g. to train or evaluate one
    prediction direction); a triple that has no valid replacement on that
    side then raises instead of falling back to the other.

    :meth:`sample` returns :class:`CorruptedTriples` of shape ``[B, k]``.
    See :class:`TripleCorruption` for the filtered setting, the fallback
    and the seeding.

    Args:
        num_neg (int, optional): Negatives per positive triple, :math:`k`.
            (default: :obj:`1`)
        corrupt (str, optional): :obj:`"both"`, :obj:`"head"` or
            :obj:`"tail"`: the sides that may be replaced.
            (default: :obj:`"both"`)
        **kwargs: :obj:`filtered`, :obj:`seed`, :obj:`generator` of
            :class:`TripleCorruption`.

    Example:
        >>> corruption = UniformCorruption(num_neg=4, seed=0)
        >>> corruption.fit(train, num_entities=14541, num_relations=237,
        ...                extra_positives=[valid, test])  # [3, E] each
        >>> neg = corruption.sample((head, relation, tail))
        >>> neg.head.shape, neg.head_replaced.shape
        (torch.Size([B, 4]), torch.Size([B, 4]))
    """

    def __init__(self, num_neg: int = 1, *, corrupt: str = 'both', **kwargs):
        super().__init__(num_neg, **kwargs)
        self.corrupt = check_choice(
            corrupt, 'corrupt', ('both', 'head', 'tail')
        )
        self.sides = ('head', 'tail') if corrupt == 'both' else (corrupt,)

    def head_probability(self, relation: Tensor) -> Tensor:
        return fixed_head_probability(relation, self.corrupt)

    def _extra_repr(self) -> str:
        return f'corrupt={self.corrupt!r}'
