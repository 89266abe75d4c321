r"""The base class of knowledge-graph triple corruption."""

from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._random import (
    SeededStream,
    make_generator,
    randint,
    uniform,
)
from torch_geometric_negsamp._repr import ArgumentRepr
from torch_geometric_negsamp._validate import (
    check_bool,
    check_key_space,
    check_num_nodes,
    check_positive_int,
    check_request_size,
    check_same_device,
    check_seed,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.kg._triples import (
    check_triple_ids,
    read_triple_sets,
    read_triples,
)
from torch_geometric_negsamp.kg.corrupted_triples import CorruptedTriples
from torch_geometric_negsamp.sampler.base import UnsatisfiableError

SIDES = ('head', 'tail')


class TripleCorruption(ArgumentRepr, SeededStream):
    r"""Base class of negative sampling for knowledge-graph embedding by
    corruption: a negative of the positive triple :math:`(h, r, t)`
    replaces its head or its tail by another entity,

    .. math::
        (h', r, t) \quad \text{or} \quad (h, r, t'),

    as in Bordes et al., "Translating Embeddings for Modeling
    Multi-relational Data" (NeurIPS 2013). For every negative, the head is
    replaced with the probability :meth:`head_probability` of the triple's
    relation (subclasses define it), the tail otherwise; the replacement
    is drawn uniformly among the side's candidates
    (:meth:`draw_candidates`).

    With :obj:`filtered=True` (the "filtered setting"), no corrupted triple
    is a known triple (the fitted triples and :obj:`extra_positives`, e.g.
    validation and test): the replacement is drawn uniformly among the
    entities that form no known triple with the kept entity and the
    relation, exactly and without rejection, from two
    :class:`~torch_geometric_negsamp.PositiveIndex` keyed by
    :math:`(r, t) \to h` and :math:`(r, h) \to t`. A triple whose chosen
    side has no such entity is corrupted on the other side; a triple with
    none on either side raises a
    :class:`~torch_geometric_negsamp.sampler.UnsatisfiableError` (a
    :class:`ValueError`) naming it, before any draw. With
    :obj:`filtered=False`, the replacement is uniform over all entities
    (it may form a known triple, or be the entity it replaces).

    Extending: :meth:`num_candidates` and :meth:`draw_candidates` are the
    one place where candidates are defined, given the kept entity, the
    relation and the side replaced. A corruption that restricts the
    candidates (e.g. to the :math:`k`-hop neighbourhood of the kept
    entity, as SANS does: Ahrabian et al., "Structure Aware Negative
    Sampling in Knowledge Graphs", EMNLP 2020) overrides these two and
    inherits the side choice, the fallback, the checks and the seeding.

    Args:
        num_neg (int, optional): Negatives per positive triple, :math:`k`.
            (default: :obj:`1`)
        filtered (bool, optional): Never return a known triple.
            (default: :obj:`True`)
        seed (int, optional): Seed of the corruption's own generator; each
            :class:`~torch.utils.data.DataLoader` worker derives a
            distinct, reproducible stream from it. (default: :obj:`None`)
        generator (torch.Generator, optional): A generator to use instead
            of :obj:`seed` in the main process. (default: :obj:`None`)
    """

    #: The sides a corruption may replace.
    sides: Tuple[str, ...] = SIDES

    def __init__(
        self,
        num_neg: int = 1,
        *,
        filtered: bool = True,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        self.num_neg = check_positive_int(num_neg, 'num_neg')
        self.filtered = check_bool(filtered, 'filtered')
        make_generator(seed, generator)  # checks both, and not both given
        self.seed = None if seed is None else check_seed(seed)
        self.generator = generator
        self.num_entities: Optional[int] = None
        self.num_relations: Optional[int] = None
        self._device: Optional[torch.device] = None
        self._indices: Dict[str, PositiveIndex] = {}

    # -------------------------------------------------------------- fitting
    def fit(
        self,
        triples: Any,
        relation: Optional[Tensor] = None,
        *,
        num_entities: Optional[int] = None,
        num_relations: Optional[int] = None,
        extra_positives: Any = None,
    ) -> 'TripleCorruption':
        r"""Indexes the known triples and returns :obj:`self`.

        Args:
            triples: The training triples: a ``[3, E]`` tensor (rows head,
                relation, tail), a ``(head, relation, tail)`` sequence of
                ``[E]`` tensors, an :obj:`edge_index` ``[2, E]`` (head,
                tail) with :obj:`relation`, or a
                :class:`~torch_geometric.data.Data` with :obj:`edge_index`
                and :obj:`edge_type` (as PyG's knowledge-graph datasets
                store relations).
            relation (torch.Tensor, optional): The relation of every
                triple, ``[E]``, with an :obj:`edge_index`.
                (default: :obj:`None`)
            num_entities (int, optional): Number of entities (default: the
                largest entity id of all triples given, plus one; the
                :obj:`num_nodes` of a :obj:`Data`).
            num_relations (int, optional): Number of relations (default:
                the largest relation id of all triples given, plus one).
            extra_positives (optional): Further known triples (validation
                and test, the filtered setting) that no negative may be:
                one set in any form of :obj:`triples` (an
                ``(edge_index, relation)`` pair included), or a list of
                sets. They change no statistic (e.g. no Bernoulli
                probability). (default: :obj:`None`)
        """
        from torch_geometric.data import Data

        train = read_triples(triples, relation, 'triples')
        extras = read_triple_sets(extra_positives, 'extra_positives')
        parts = [train] + extras
        if num_entities is None and isinstance(triples, Data):
            num_entities = triples.num_nodes
        if num_entities is None:
            num_entities = _largest_id(parts, ('head', 'tail'), 'entities')
        if num_relations is None:
            num_relations = _largest_id(parts, ('relation',), 'relations')
        num_entities = check_num_nodes(num_entities, 'num_entities')
        num_relations = check_num_nodes(num_relations, 'num_relations')
        # The indices key (relation, kept entity) pairs by replaced entity:
        check_key_space(
            num_relations * num_entities, num_entities, 'num_entities'
        )
        for part in parts:
            check_triple_ids(part, num_entities, num_relations)

        device = train.head.device
        self.num_entities, self.num_relations = num_entities, num_relations
        self._device = device
        self._indices = {}
        if self.filtered:
            head, rel, tail = (
                torch.cat([p[i].to(device) for p in parts]) for i in range(3)
            )
            # Keyed by (relation, kept entity): (r, t) -> h answers head
            # corruption, (r, h) -> t tail corruption.
            for side, kept, replaced in (
                ('head', tail, head),
                ('tail', head, tail),
            ):
                self._indices[side] = PositiveIndex(
                    torch.stack([rel * num_entities + kept, replaced]),
                    num_relations * num_entities,
                    num_entities,
                )
        self._fit_statistics(train.head, train.relation, train.tail)
        return self

    def _fit_statistics(
        self, head: Tensor, relation: Tensor, tail: Tensor
    ) -> None:
        r"""Hook for subclasses: statistics of the training triples (the
        :obj:`extra_positives` excluded), called at the end of
        :meth:`fit`."""

    @property
    def is_fitted(self) -> bool:
        return self._device is not None

    @property
    def device(self) -> Optional[torch.device]:
        r"""The device of the fitted triples (:obj:`None` before
        :meth:`fit`)."""
        return self._device

    def index(self, side: str) -> PositiveIndex:
        r"""The :class:`~torch_geometric_negsamp.PositiveIndex` of the known
        triples for replacing :obj:`side` (:obj:`"head"` or :obj:`"tail"`):
        source ``relation * num_entities + kept entity``, destination the
        entity on :obj:`side`. Exists with :obj:`filtered=True` only."""
        self._check_fitted()
        if side not in SIDES:
            raise ValueError(
                f"'side' must be one of 'head', 'tail' (got {side!r})"
            )
        if not self.filtered:
            raise RuntimeError(
                f"'{self.__class__.__name__}' keeps no index of known "
                f'triples with filtered=False'
            )
        return self._indices[side]

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError(
                f"'{self.__class__.__name__}' has no triples yet; call "
                f"'fit(triples)' first"
            )

    # ----------------------------------------------------- candidate sets
    def head_probability(self, relation: Tensor) -> Tensor:
        r"""The probability of replacing the head of a triple of each
        relation in :obj:`relation` (``[B]`` :obj:`long`, validated), as a
        ``[B]`` :obj:`float64` tensor on its device."""
        raise NotImplementedError

    def num_candidates(
        self, kept: Tensor, relation: Tensor, side: str
    ) -> Tensor:
        r"""How many replacements of :obj:`side` (:obj:`"head"` or
        :obj:`"tail"`) each triple with the kept entity :obj:`kept` (the
        other side) and :obj:`relation` has (both ``[N]`` :obj:`long`,
        validated by :meth:`sample`); ``[N]`` :obj:`long`. Zero means the
        side cannot be corrupted. Override together with
        :meth:`draw_candidates`."""
        if not self.filtered:
            return torch.full_like(kept, self.num_entities)
        return self._indices[side].num_candidates(
            relation * self.num_entities + kept
        )

    def draw_candidates(
        self,
        kept: Tensor,
        relation: Tensor,
        side: str,
        generator: Optional[torch.Generator],
    ) -> Tensor:
        r"""One replacement of :obj:`side` per entry, uniform among the
        :meth:`num_candidates` candidates (called only with entries that
        have one, never with none); ``[N]`` :obj:`long` entity ids."""
        if not self.filtered:
            return randint(
                self.num_entities, kept.numel(), kept.device, generator
            )
        return self._indices[side].sample_complement_unchecked(
            relation * self.num_entities + kept, generator
        )

    # ------------------------------------------------------------ sampling
    def sample(
        self,
        triples: Any,
        relation: Optional[Tensor] = None,
        *,
        num_neg: Optional[int] = None,
    ) -> CorruptedTriples:
        r"""Draws :math:`k` corruptions of every positive triple.

        Args:
            triples: The :math:`B` positive triples, in any form of
                :meth:`fit` (e.g. ``(head, relation, tail)``, each
                ``[B]``), on the device of the fitted triples. With
                :obj:`filtered=True` they must be known triples.
            relation (torch.Tensor, optional): The relations ``[B]``, with
                an :obj:`edge_index` ``[2, B]``. (default: :obj:`None`)
            num_neg (int, optional): :math:`k` (default: :obj:`num_neg`
                of the constructor).

        Returns:
            :class:`CorruptedTriples`: :obj:`head`, :obj:`relation`,
            :obj:`tail` and :obj:`head_replaced`, each ``[B, k]``, row
            :math:`i` for positive :math:`i`.
        """
        self._check_fitted()
        pos = read_triples(triples, relation, 'triples')
        head, rel, tail = pos.head, pos.relation, pos.tail
        check_same_device(
            head, pos.names[0], self._device, 'the fitted triples'
        )
        check_triple_ids(pos, self.num_entities, self.num_relations)
        num_neg = check_positive_int(
            self.num_neg if num_neg is None else num_neg, 'num_neg'
        )
        check_request_size(
            3 * head.numel() * num_neg,
            'num_neg',
            device=head.device,
            what='corrupted triples',
        )
        if self.filtered:
            self._check_known(pos)
        counts = {
            side: (
                self.num_candidates(
                    tail if side == 'head' else head, rel, side
                )
                if side in self.sides
                else torch.zeros_like(head)
            )
            for side in SIDES
        }
        can_head, can_tail = counts['head'] > 0, counts['tail'] > 0
        self._check_satisfiable(pos, can_head | can_tail)

        generator = self.get_generator()
        prob = self.head_probability(rel).view(-1, 1)
        pick = uniform((head.numel(), num_neg), head.device, generator) < prob
        # The chosen side, unless only the other one has a candidate:
        pick = (pick & can_head.view(-1, 1)) | ~can_tail.view(-1, 1)

        def rows(value: Tensor) -> Tensor:
            return value.view(-1, 1).expand(-1, num_neg)

        neg_head, neg_tail = rows(head).clone(), rows(tail).clone()
        rel_rows = rows(rel)
        for side, where, out, kept in (
            ('head', pick, neg_head, tail),
            ('tail', ~pick, neg_tail, head),
        ):
            kept = rows(kept)[where]
            if kept.numel() > 0:
                out[where] = self.draw_candidates(
                    kept, rel_rows[where], side, generator
                )
        return CorruptedTriples(neg_head, rel_rows, neg_tail, pick)

    def _check_known(self, pos) -> None:
        index = self._indices['tail']
        known = index.contains_unchecked(
            pos.relation * self.num_entities + pos.head, pos.tail
        )
        if not bool(known.all()):
            i = int((~known).nonzero()[0])
            raise ValueError(
                f"'triples' must be known triples with filtered=True (got "
                f'{_triple(pos, i)}, neither fitted nor in '
                f"'extra_positives'; its corruption could be itself)"
            )

    def _check_satisfiable(self, pos, ok: Tensor) -> None:
        if bool(ok.all()):
            return
        bad = (~ok).nonzero().view(-1)
        sides = ' and every '.join(self.sides)
        raise UnsatisfiableError(
            f'triple {_triple(pos, int(bad[0]))} has no valid corruption: '
            f'every {sides} forms a known triple ({bad.numel()} such '
            f'triple(s) in the batch)'
        )

    # -------------------------------------------------------------- device
    def to(self, device) -> 'TripleCorruption':
        r"""Moves the index of known triples (and any state) to
        :obj:`device`, in place; returns :obj:`self`."""
        self._check_fitted()
        for index in self._indices.values():
            index.to(device)
        # A device as tensors report it ('cuda' becomes 'cuda:0'):
        self._device = torch.empty(0, device=device).device
        self._move_state(self._device)
        return self

    def _move_state(self, device: torch.device) -> None:
        pass

    def share_memory_(self) -> 'TripleCorruption':
        r"""Moves the index of known triples to shared memory, so that
        :class:`~torch.utils.data.DataLoader` workers read one copy."""
        for index in self._indices.values():
            index.share_memory_()
        return self

    def _repr_args(self) -> List[str]:
        return [
            f'num_neg={self.num_neg}',
            self._extra_repr(),
            f'filtered={self.filtered}',
            f'seed={self.seed}',
        ]


def _triple(pos, i: int) -> str:
    return f'({int(pos.head[i])}, {int(pos.relation[i])}, {int(pos.tail[i])})'


def _largest_id(parts, fields, unit: str) -> int:
    values = [getattr(p, f) for p in parts for f in fields]
    values = [v for v in values if v.numel() > 0]
    if not values:
        raise ValueError(
            f"'num_{unit}' must be given when there are no triples (got None)"
        )
    # At least one, so that a negative id is reported by the range check:
    return max(1, max(int(v.max()) for v in values) + 1)
