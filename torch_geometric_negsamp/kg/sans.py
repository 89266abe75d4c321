r"""Structure-aware negative sampling (SANS; Ahrabian et al., 2020):
corruption within the k-hop neighbourhood of the kept entity."""

from typing import Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._random import mix_seed
from torch_geometric_negsamp._validate import (
    check_bool,
    check_choice,
    check_in_range,
    check_index_tensor,
    check_positive_int,
    check_same_device,
)
from torch_geometric_negsamp.kg._neighborhoods import (
    RegionNeighborhoods,
    VisitNeighborhoods,
)
from torch_geometric_negsamp.kg.base import TripleCorruption
from torch_geometric_negsamp.kg.bernoulli import bernoulli_head_prob
from torch_geometric_negsamp.kg.uniform import fixed_head_probability
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.region._build import check_budget
from torch_geometric_negsamp.sampler.base import UnsatisfiableError

CORRUPT = ('both', 'head', 'tail', 'bernoulli')
METHODS = ('exact', 'walk')
ON_EMPTY = ('uniform', 'raise')
# Names the walks' stream among the streams derived from one seed.
_WALK_STREAM = 0x5A45


class SANSCorruption(TripleCorruption):
    r"""Structure-aware negative sampling from `"Structure Aware Negative
    Sampling in Knowledge Graphs" <https://aclanthology.org/
    2020.emnlp-main.492>`_ (Ahrabian et al., EMNLP 2020): a corrupted
    triple replaces the tail of :math:`(h, r, t)` by an entity of the
    :math:`k`-hop neighbourhood of :math:`h`, or the head by one of the
    neighbourhood of :math:`t`, so that negatives are structurally close,
    hence hard, without an adversarial model.

    The neighbourhoods come from the undirected entity graph of the
    training triples, every relation merged (:math:`A_{ht} = A_{th} = 1`
    for every training triple), as a
    :class:`~torch_geometric_negsamp.region.KHopRegion` with
    :obj:`adjacent_hops=0`:

    .. math::
        N_k(e) = \{ v : [(A + I)^k]_{e,v} \neq 0 \} \setminus \{e\},

    the entities within :math:`k` edges of :math:`e` (:math:`e` itself
    kept with :obj:`include_self=True`; the public code keeps it). With
    :math:`\mathcal{K}` the known triples (the training triples and
    :obj:`extra_positives`; :obj:`filtered=True`), a tail replacement is
    drawn uniformly from

    .. math::
        C_t(h, r) = N_k(h) \setminus \{ v : (h, r, v) \in \mathcal{K} \},

    and a head replacement from :math:`C_h(r, t) = N_k(t) \setminus \{ v :
    (v, r, t) \in \mathcal{K} \}`, exactly and without rejection (the
    :math:`u`-th valid member of a stored neighbourhood row, by rank and
    select), so no corrupted triple is a known triple.

    Where :math:`C` is empty (an isolated entity, or a neighbourhood made
    only of known triples), :obj:`on_empty="uniform"` draws the
    replacement uniformly among all the entities that form no known
    triple, as :class:`UniformCorruption` does, and counts it in
    :attr:`num_fallback`; :obj:`on_empty="raise"` raises an
    :class:`~torch_geometric_negsamp.sampler.UnsatisfiableError` naming the
    entity, before any draw, when a side the triple may corrupt has an
    empty :math:`C`. The side is chosen as in :class:`UniformCorruption`
    (:obj:`corrupt="both"`, :obj:`"head"`, :obj:`"tail"`) or
    :class:`BernoulliCorruption` (:obj:`corrupt="bernoulli"`); see
    :class:`TripleCorruption` for the fallback to the other side and the
    seeding.

    :obj:`method="walk"` replaces :math:`N_k(e)` by the entities that
    :obj:`num_walks` random walks of :math:`k` edges from :math:`e` stand
    on after any step (RW-SANS; every walk starts again from :math:`e`,
    unlike the public code, whose walks continue one another). The set is
    a subset of :math:`N_k(e)`; its recall is measured in ``docs/kg.md``.
    :obj:`weighted=True` then draws :math:`v` with probability
    proportional to its visit count :math:`c(e, v)` (the paper's implicit
    weighting, which the public code does not implement), exactly:

    .. math::
        P(v \mid h, r) = \frac{c(h, v)}{\sum_{w \in C_t(h, r)} c(h, w)},
        \qquad v \in C_t(h, r).

    Args:
        num_neg (int, optional): Negatives per positive triple, :math:`k`
            in :class:`TripleCorruption`. (default: :obj:`1`)
        k (int, optional): Hops of the neighbourhood. (default: :obj:`2`)
        corrupt (str, optional): :obj:`"both"` (head or tail with
            probability :math:`1/2`), :obj:`"head"`, :obj:`"tail"` or
            :obj:`"bernoulli"` (TransH's per-relation probability).
            (default: :obj:`"both"`)
        method (str, optional): :obj:`"exact"` (sparse matrix powers) or
            :obj:`"walk"`. (default: :obj:`"exact"`)
        num_walks (int, optional): Walks per entity with
            :obj:`method="walk"`. (default: :obj:`1000`)
        weighted (bool, optional): Draw by visit counts
            (:obj:`method="walk"` only). (default: :obj:`False`)
        include_self (bool, optional): Keep the entity in its own
            neighbourhood. (default: :obj:`False`)
        on_empty (str, optional): :obj:`"uniform"` or :obj:`"raise"`.
            (default: :obj:`"uniform"`)
        memory_budget (int, optional): Bytes the neighbourhood computation
            may hold at once (see :class:`KHopRegion`).
            (default: :obj:`None`)
        **kwargs: :obj:`filtered`, :obj:`seed`, :obj:`generator` of
            :class:`TripleCorruption` (the walks are seeded from them).

    Attributes:
        region (KHopRegion): The neighbourhoods (after :meth:`fit`;
            :obj:`None` with :obj:`weighted=True`).
        num_fallback (int): Corruptions drawn by the :obj:`"uniform"`
            fallback since :meth:`fit`, in this process.

    Example:
        >>> corruption = SANSCorruption(num_neg=4, k=2, seed=0)
        >>> corruption.fit(data.edge_index, data.edge_type,
        ...                num_entities=data.num_nodes)
        >>> neg = corruption.sample(batch_edge_index, batch_relation)
        >>> neg.head.shape, corruption.num_fallback  # [B, 4]
    """

    def __init__(
        self,
        num_neg: int = 1,
        *,
        k: int = 2,
        corrupt: str = 'both',
        method: str = 'exact',
        num_walks: int = 1000,
        weighted: bool = False,
        include_self: bool = False,
        on_empty: str = 'uniform',
        memory_budget: Optional[int] = None,
        **kwargs,
    ):
        super().__init__(num_neg, **kwargs)
        self.k = check_positive_int(k, 'k')
        self.corrupt = check_choice(corrupt, 'corrupt', CORRUPT)
        self.sides = (
            ('head', 'tail')
            if corrupt in ('both', 'bernoulli')
            else (corrupt,)
        )
        self.method = check_choice(method, 'method', METHODS)
        self.num_walks = check_positive_int(num_walks, 'num_walks')
        self.weighted = check_bool(weighted, 'weighted')
        if self.weighted and self.method != 'walk':
            raise ValueError(
                "'weighted' must be False with method='exact' (the weights "
                "are the visit counts of method='walk') (got True)"
            )
        self.include_self = check_bool(include_self, 'include_self')
        self.on_empty = check_choice(on_empty, 'on_empty', ON_EMPTY)
        self.memory_budget = (
            None
            if memory_budget is None
            else check_positive_int(memory_budget, 'memory_budget')
        )
        self.region: Optional[KHopRegion] = None
        self.head_prob: Optional[Tensor] = None
        self.num_fallback = 0
        self._neighborhoods = None

    # -------------------------------------------------------------- fitting
    def _fit_statistics(
        self, head: Tensor, relation: Tensor, tail: Tensor
    ) -> None:
        n = self.num_entities
        if self.corrupt == 'bernoulli':
            self.head_prob = bernoulli_head_prob(
                head, relation, tail, n, self.num_relations
            )
        # The undirected entity graph, every relation merged.
        edge_index = torch.stack(
            [torch.cat([head, tail]), torch.cat([tail, head])]
        )
        seed = self._walk_seed()
        if self.weighted:
            self.region = None
            self._neighborhoods = VisitNeighborhoods(
                edge_index,
                n,
                self.k,
                self.num_walks,
                self.include_self,
                self._budget(),
                seed,
            )
        else:
            self.region = KHopRegion(
                edge_index,
                n,
                self.k,
                0,
                method=self.method,
                num_walks=self.num_walks,
                seed=seed,
                memory_budget=self.memory_budget,
            )
            self._neighborhoods = RegionNeighborhoods(
                self.region, self.include_self
            )
        for side, index in self._indices.items():
            self._neighborhoods.exclude(side, index)
        self.num_fallback = 0

    def _walk_seed(self) -> Optional[int]:
        # The walks draw from their own stream, derived from the seed (or
        # the generator's seed), so they leave the corruption's alone.
        if self.seed is not None:
            return mix_seed(self.seed, _WALK_STREAM)
        if self.generator is not None:
            return mix_seed(self.generator.initial_seed(), _WALK_STREAM)
        return None

    def _budget(self) -> int:
        return check_budget(self.memory_budget)

    # ----------------------------------------------------- neighbourhoods
    def _check_entities(self, value, name: str) -> Tensor:
        self._check_fitted()
        check_index_tensor(value, name)
        check_same_device(value, name, self._device, 'the fitted triples')
        check_in_range(
            value, name, self.num_entities, what='entity id', unit='entities'
        )
        return value.long()

    def neighborhood_sizes(self, entities: Optional[Tensor] = None):
        r"""The sizes :math:`|N_k(e)|` of the neighbourhoods of
        :obj:`entities` (of every entity if :obj:`None`), before any
        filtering, ``long``."""
        self._check_fitted()
        sizes = self._neighborhoods.sizes()
        if entities is None:
            return sizes
        return sizes[self._check_entities(entities, 'entities')]

    def in_neighborhood(self, entities: Tensor, others: Tensor) -> Tensor:
        r"""Boolean tensor, :obj:`True` where :obj:`others` is in the
        neighbourhood of :obj:`entities` (shapes broadcast)."""
        entities, others = torch.broadcast_tensors(
            self._check_entities(entities, 'entities'),
            self._check_entities(others, 'others'),
        )
        return self._neighborhoods.contains_unchecked(entities, others)

    # ----------------------------------------------------- candidate sets
    def head_probability(self, relation: Tensor) -> Tensor:
        if self.corrupt == 'bernoulli':
            return self.head_prob[relation]
        return fixed_head_probability(relation, self.corrupt)

    def _size(self, kept: Tensor, relation: Tensor, side: str) -> Tensor:
        # The valid entities of each neighbourhood (their visit mass when
        # weighted: only whether it is zero matters outside the draw).
        key = relation * self.num_entities + kept
        return self._neighborhoods.size(kept, key, side)

    def num_candidates(
        self, kept: Tensor, relation: Tensor, side: str
    ) -> Tensor:
        size = self._size(kept, relation, side)
        empty = size <= 0
        if self.on_empty == 'uniform':
            fallback = super().num_candidates(kept, relation, side)
            return torch.where(empty, fallback, size)
        if kept.numel() > 0 and bool(empty.any()):
            i = int(empty.nonzero()[0])
            other = 'tail' if side == 'head' else 'head'
            raise UnsatisfiableError(
                f'the {self.k}-hop neighbourhood of entity {int(kept[i])} '
                f'(the kept {other}, relation {int(relation[i])}) holds no '
                f'{side} that forms no known triple, and '
                f"on_empty='raise' ({int(empty.sum())} such triple(s) in "
                f'the batch)'
            )
        return size

    def draw_candidates(
        self,
        kept: Tensor,
        relation: Tensor,
        side: str,
        generator: Optional[torch.Generator],
    ) -> Tensor:
        size = self._size(kept, relation, side)
        empty = size <= 0
        num_empty = int(empty.sum()) if self.on_empty == 'uniform' else 0
        if num_empty == 0:
            return self._draw(kept, relation, side, size, generator)
        out = torch.empty_like(kept)
        out[empty] = super().draw_candidates(
            kept[empty], relation[empty], side, generator
        )
        full = ~empty
        out[full] = self._draw(
            kept[full], relation[full], side, size[full], generator
        )
        self.num_fallback += num_empty
        return out

    def _draw(self, kept, relation, side, size, generator) -> Tensor:
        key = relation * self.num_entities + kept
        return self._neighborhoods.draw(kept, key, side, size, generator)

    # -------------------------------------------------------------- device
    def _move_state(self, device: torch.device) -> None:
        self._neighborhoods.to(device)
        if self.head_prob is not None:
            self.head_prob = self.head_prob.to(device)

    def share_memory_(self) -> 'SANSCorruption':
        super().share_memory_()
        if self._neighborhoods is not None:
            self._neighborhoods.share_memory_()
        return self

    @property
    def nbytes(self) -> int:
        r"""Bytes held by the neighbourhoods and their filters (the index
        of known triples not included)."""
        self._check_fitted()
        return self._neighborhoods.nbytes

    def _extra_repr(self) -> str:
        out = f'k={self.k}, corrupt={self.corrupt!r}, method={self.method!r}'
        if self.method == 'walk':
            out += f', num_walks={self.num_walks}, weighted={self.weighted}'
        return (
            f'{out}, include_self={self.include_self}, '
            f'on_empty={self.on_empty!r}'
        )
