r"""Head / tail corruption for knowledge graphs."""

import math
from typing import Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint as _randint
from torch_geometric_negsamp._random import uniform
from torch_geometric_negsamp._validate import (
    check_in_range,
    check_index_tensor,
    check_num_nodes,
    check_positive_int,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.sampler.base import (
    NegativeSampler,
    UnsatisfiableError,
)


class BernoulliSampler(NegativeSampler):
    r"""Corrupts the head or the tail of knowledge-graph triples
    :math:`(h, r, t)`, choosing the head with the per-relation probability of
    Wang et al. (2014), "Knowledge Graph Embedding by Translating on
    Hyperplanes" (TransH):

    .. math::
        P(\text{corrupt head} \mid r) = \frac{\mathrm{tph}_r}
        {\mathrm{tph}_r + \mathrm{hpt}_r},

    where :math:`\mathrm{tph}_r` is the average number of tails per head and
    :math:`\mathrm{hpt}_r` the average number of heads per tail of relation
    :math:`r`. With :obj:`bernoulli=False`, head and tail are corrupted with
    probability :math:`1/2` each (Bordes et al., 2013).

    With :obj:`filtered=True` (the "filtered setting"), a corrupted triple is
    never a known triple: the replacement entity is drawn uniformly among the
    entities that do not form a known triple with the kept pair, exactly and
    without rejection. If the chosen side has no such entity, the other side
    is corrupted; if neither has, a :class:`ValueError` names the triple.

    Args:
        amount (int, optional): Negatives per triple. (default: :obj:`1`)
        bernoulli (bool, optional): Use the Bernoulli head probability
            instead of :math:`1/2`. (default: :obj:`True`)
        **kwargs: Options of
            :class:`~torch_geometric_negsamp.sampler.NegativeSampler`
            (:obj:`filtered`, :obj:`seed`, :obj:`generator`, ...).

    Example:
        >>> sampler = BernoulliSampler(amount=2, seed=0)
        >>> sampler.fit(edge_index, edge_type, num_nodes=14541)
        >>> neg_head, neg_tail = sampler.sample_triples(head, rel, tail)
    """

    def __init__(
        self,
        mode: str = 'triplet',
        amount: int = 1,
        *,
        bernoulli: bool = True,
        **kwargs,
    ):
        super().__init__(mode, amount, **kwargs)
        if self.on_unsatisfiable != 'raise':
            raise ValueError(
                "'BernoulliSampler' supports "
                "on_unsatisfiable='raise' only (got "
                f'{self.on_unsatisfiable!r})'
            )
        if not isinstance(bernoulli, bool):
            raise TypeError(
                f"'bernoulli' must be a bool (got {type(bernoulli).__name__})"
            )
        self.bernoulli = bernoulli
        self.head_prob: Optional[Tensor] = None
        self.num_nodes: Optional[int] = None
        self.num_relations: Optional[int] = None

    def fit(
        self,
        data_or_edge_index,
        edge_type: Optional[Tensor] = None,
        num_nodes: Optional[int] = None,
        num_relations: Optional[int] = None,
        *,
        extra_positives: Optional[Tuple[Tensor, Tensor]] = None,
    ) -> 'BernoulliSampler':
        r"""Indexes the known triples and the per-relation head probability.

        Args:
            data_or_edge_index: A :class:`~torch_geometric.data.Data` with
                :obj:`edge_index` ``[2, E]`` (head, tail) and
                :obj:`edge_type` ``[E]`` (relation), as PyG's knowledge-graph
                datasets store them, or the :obj:`edge_index` itself.
            edge_type (torch.Tensor, optional): The relation of each triple,
                ``[E]``, when an :obj:`edge_index` is given.
            num_nodes (int, optional): Number of entities.
            num_relations (int, optional): Number of relations.
            extra_positives (tuple, optional): Further known triples
                ``(edge_index, edge_type)`` (validation and test) that no
                negative may hit; they do not change the head probability.
        """
        from torch_geometric.data import Data

        if isinstance(data_or_edge_index, Data):
            data = data_or_edge_index
            edge_index, edge_type = data.edge_index, data.edge_type
            num_nodes = num_nodes or data.num_nodes
        else:
            edge_index = data_or_edge_index
        check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
        if edge_type is None:
            raise ValueError(
                "'edge_type' (the relation of every triple) is "
                'required (got None)'
            )
        check_index_tensor(edge_type, 'edge_type', dim=1)
        if edge_type.numel() != edge_index.size(1):
            raise ValueError(
                f"'edge_type' must have one entry per edge "
                f'({edge_index.size(1)}) (got '
                f'{edge_type.numel()})'
            )
        if num_nodes is None:
            num_nodes = int(edge_index.max()) + 1
        if num_relations is None:
            num_relations = (
                int(edge_type.max()) + 1 if edge_type.numel() else 1
            )
        num_nodes = check_num_nodes(num_nodes, 'num_nodes')
        num_relations = check_num_nodes(num_relations, 'num_relations')
        check_in_range(edge_index, 'edge_index', num_nodes)
        check_in_range(edge_type, 'edge_type', num_relations)

        head, tail, rel = (
            edge_index[0].long(),
            edge_index[1].long(),
            edge_type.long(),
        )
        if extra_positives is not None:
            if (
                not isinstance(extra_positives, (tuple, list))
                or len(extra_positives) != 2
            ):
                raise TypeError(
                    "'extra_positives' must be a pair (edge_index, edge_type)"
                )
            ex_index, ex_type = extra_positives
            check_index_tensor(ex_index, 'extra_positives[0]', dim=2, rows=2)
            check_index_tensor(ex_type, 'extra_positives[1]', dim=1)
            check_in_range(ex_index, 'extra_positives[0]', num_nodes)
            check_in_range(ex_type, 'extra_positives[1]', num_relations)
            ex_index = ex_index.to(head.device)
            all_head = torch.cat([head, ex_index[0].long()])
            all_tail = torch.cat([tail, ex_index[1].long()])
            all_rel = torch.cat([rel, ex_type.to(head.device).long()])
        else:
            all_head, all_tail, all_rel = head, tail, rel

        # (r, h) -> t answers tail corruption, (r, t) -> h head corruption:
        n = num_nodes
        self._indices = {
            'tail': PositiveIndex(
                torch.stack([all_rel * n + all_head, all_tail]),
                num_relations * n,
                n,
            ),
            'head': PositiveIndex(
                torch.stack([all_rel * n + all_tail, all_head]),
                num_relations * n,
                n,
            ),
        }
        self.num_nodes, self.num_relations = n, num_relations
        self.head_prob = self._head_probability(
            head, tail, rel, n, num_relations
        )
        return self

    def _head_probability(self, head, tail, rel, n, num_relations) -> Tensor:
        if not self.bernoulli:
            return torch.full((num_relations,), 0.5, device=head.device)
        keys = torch.unique(torch.stack([rel, head, tail]), dim=1)
        rel, head, tail = keys
        ones = torch.ones_like(rel, dtype=torch.float64)
        count = torch.zeros(
            num_relations, dtype=torch.float64, device=rel.device
        ).index_add_(0, rel, ones)
        num_heads = torch.bincount(
            torch.unique(rel * n + head) // n, minlength=num_relations
        )
        num_tails = torch.bincount(
            torch.unique(rel * n + tail) // n, minlength=num_relations
        )
        tph = count / num_heads.clamp(min=1)
        hpt = count / num_tails.clamp(min=1)
        prob = tph / (tph + hpt)
        return torch.where(count > 0, prob, torch.full_like(prob, 0.5))

    def sample_triples(
        self,
        head: Tensor,
        rel: Tensor,
        tail: Tensor,
        num_neg: Optional[int] = None,
    ) -> Tuple[Tensor, Tensor]:
        r"""Corrupts every triple :obj:`num_neg` times.

        Args:
            head (torch.Tensor): Heads, ``[B]``.
            rel (torch.Tensor): Relations, ``[B]``.
            tail (torch.Tensor): Tails, ``[B]``.
            num_neg (int, optional): Negatives per triple
                (default: ``ceil(amount)``).

        Returns:
            ``(neg_head, neg_tail)``, each ``[B, k]``: negative :math:`j` of
            triple :math:`i` is ``(neg_head[i, j], rel[i], neg_tail[i, j])``;
            exactly one of the two differs from the original (unless the
            replacement happens to equal it when :obj:`filtered=False`).
        """
        if self.head_prob is None:
            raise RuntimeError(
                "'BernoulliSampler' has no index of triples "
                "yet; call 'fit(...)' first"
            )
        for name, value in (('head', head), ('rel', rel), ('tail', tail)):
            check_index_tensor(value, name, dim=1)
            if value.numel() != head.numel():
                raise ValueError(
                    f"'{name}' must have {head.numel()} entries "
                    f"like 'head' (got {value.numel()})"
                )
        check_in_range(head, 'head', self.num_nodes)
        check_in_range(tail, 'tail', self.num_nodes)
        check_in_range(rel, 'rel', self.num_relations)
        if num_neg is None:
            num_neg = math.ceil(self.amount)
        check_positive_int(num_neg, 'num_neg')

        n = self.num_nodes
        head, rel, tail = head.long(), rel.long(), tail.long()
        head_row, tail_row = rel * n + tail, rel * n + head
        generator = self.get_generator()
        if self.filtered:  # checked before any draw
            can_head = self._indices['head'].num_candidates(head_row) > 0
            can_tail = self._indices['tail'].num_candidates(tail_row) > 0
            neither = ~(can_head | can_tail)
            if bool(neither.any()):
                i = int(neither.nonzero()[0])
                raise UnsatisfiableError(
                    f'triple ({int(head[i])}, {int(rel[i])}, {int(tail[i])}) '
                    f'has no valid corruption: every head and every tail '
                    f'forms a known triple'
                )
        prob = self.head_prob.to(head.device)[rel]
        corrupt_head = uniform(
            (head.numel(), num_neg), head.device, generator, torch.float32
        ) < prob.view(-1, 1)
        if self.filtered:
            corrupt_head = (
                corrupt_head & can_head.view(-1, 1)
            ) | ~can_tail.view(-1, 1)

        neg_head = head.view(-1, 1).repeat(1, num_neg)
        neg_tail = tail.view(-1, 1).repeat(1, num_neg)
        h_rows = head_row.view(-1, 1).expand(-1, num_neg)[corrupt_head]
        t_rows = tail_row.view(-1, 1).expand(-1, num_neg)[~corrupt_head]
        if self.filtered:
            neg_head[corrupt_head] = self._indices['head'].sample_complement(
                h_rows, generator
            )
            neg_tail[~corrupt_head] = self._indices['tail'].sample_complement(
                t_rows, generator
            )
        else:
            neg_head[corrupt_head] = _randint(
                n, h_rows.numel(), head.device, generator
            )
            neg_tail[~corrupt_head] = _randint(
                n, t_rows.numel(), head.device, generator
            )
        return neg_head, neg_tail

    def sample_negatives(self, *args, **kwargs):
        raise TypeError(
            "'BernoulliSampler' corrupts triples: use "
            "'sample_triples(head, rel, tail)'"
        )

    def sample_pairs(self, *args, **kwargs):
        raise TypeError(
            "'BernoulliSampler' corrupts triples: use "
            "'sample_triples(head, rel, tail)'"
        )

    def _move_state(self, device):
        if self.head_prob is not None:
            self.head_prob = self.head_prob.to(device)

    def _extra_repr(self) -> str:
        return f'bernoulli={self.bernoulli}'
