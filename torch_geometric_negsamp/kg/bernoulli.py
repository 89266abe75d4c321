r"""Bernoulli head / tail corruption (Wang et al., 2014, TransH)."""

from typing import Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import check_request_size
from torch_geometric_negsamp.kg.base import TripleCorruption


class BernoulliCorruption(TripleCorruption):
    r"""Corrupts the head or the tail of knowledge-graph triples
    :math:`(h, r, t)`, choosing the head with the per-relation probability
    of Wang et al., "Knowledge Graph Embedding by Translating on
    Hyperplanes" (AAAI 2014, TransH):

    .. math::
        P(\text{replace } h \mid r) = \frac{\mathrm{tph}_r}
        {\mathrm{tph}_r + \mathrm{hpt}_r}
        = \frac{|T_r|}{|H_r| + |T_r|},

    where :math:`\mathrm{tph}_r = |\mathcal{K}_r| / |H_r|` is the average
    number of tails per head and :math:`\mathrm{hpt}_r = |\mathcal{K}_r| /
    |T_r|` the average number of heads per tail of relation :math:`r`
    (:math:`H_r`, :math:`T_r` its distinct heads and tails among the
    training triples :math:`\mathcal{K}_r`). A one-to-many relation thus
    mostly replaces its head, a many-to-one relation its tail, which makes
    false negatives rarer. A relation without training triple uses
    :math:`1/2`. The replacement is uniform, as in
    :class:`UniformCorruption`.

    :meth:`sample` returns :class:`CorruptedTriples` of shape ``[B, k]``.
    See :class:`TripleCorruption` for the filtered setting, the fallback
    to the other side and the seeding.

    Args:
        num_neg (int, optional): Negatives per positive triple, :math:`k`.
            (default: :obj:`1`)
        **kwargs: :obj:`filtered`, :obj:`seed`, :obj:`generator` of
            :class:`TripleCorruption`.

    Attributes:
        head_prob (torch.Tensor): :math:`P(\text{replace } h \mid r)` of
            every relation, ``[num_relations]`` :obj:`float64` (after
            :meth:`fit`).

    Example:
        >>> corruption = BernoulliCorruption(num_neg=4, seed=0)
        >>> corruption.fit(data.edge_index, data.edge_type,
        ...                num_entities=data.num_nodes)
        >>> neg = corruption.sample(batch_edge_index, batch_relation)
        >>> neg.head.shape  # [B, 4]
    """

    def __init__(self, num_neg: int = 1, **kwargs):
        super().__init__(num_neg, **kwargs)
        self.head_prob: Optional[Tensor] = None

    def _fit_statistics(
        self, head: Tensor, relation: Tensor, tail: Tensor
    ) -> None:
        self.head_prob = bernoulli_head_prob(
            head, relation, tail, self.num_entities, self.num_relations
        )

    def head_probability(self, relation: Tensor) -> Tensor:
        return self.head_prob[relation]

    def _move_state(self, device: torch.device) -> None:
        self.head_prob = self.head_prob.to(device)


def bernoulli_head_prob(
    head: Tensor,
    relation: Tensor,
    tail: Tensor,
    num_entities: int,
    num_relations: int,
) -> Tensor:
    r"""The TransH probability of replacing the head,
    :math:`|T_r| / (|H_r| + |T_r|)`, of every relation (``[num_relations]``
    :obj:`float64`; :math:`1/2` for a relation without triple)."""
    n = num_entities
    # Four float64 / int64 values per relation:
    check_request_size(
        num_relations,
        'num_relations',
        element_size=32,
        device=head.device,
        what='per-relation statistics',
    )
    # tph / (tph + hpt) = |T_r| / (|H_r| + |T_r|): the triple count
    # cancels, so duplicated triples change nothing.
    num_heads = torch.bincount(
        torch.unique(relation * n + head) // n, minlength=num_relations
    )
    num_tails = torch.bincount(
        torch.unique(relation * n + tail) // n, minlength=num_relations
    )
    total = (num_heads + num_tails).double()
    return torch.where(
        total > 0,
        num_tails.double() / total.clamp(min=1),
        torch.full_like(total, 0.5),
    )
