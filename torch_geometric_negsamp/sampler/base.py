r"""The base class of every negative sampler."""

import math
import os
import warnings
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.sampler import NegativeSampling
from torch_geometric.typing import EdgeType

from torch_geometric_negsamp._random import randint_below, uniform
from torch_geometric_negsamp._validate import (
    check_in_range,
    check_index_tensor,
    check_positive_int,
)
from torch_geometric_negsamp.index import PositiveIndex

Positives = Union[Tensor, Sequence[Tensor], Dict[EdgeType, Tensor]]


class UnsatisfiableError(ValueError):
    r"""Raised when a source node has no valid negative left (it is a known
    positive of every destination it could be paired with)."""


class NegativeSampler(NegativeSampling):
    r"""Base class of the library's negative samplers.

    A :class:`NegativeSampler` is a
    :class:`torch_geometric.sampler.NegativeSampling`, so it can be passed as
    :obj:`neg_sampling=` to PyG's own
    :class:`~torch_geometric.loader.LinkNeighborLoader` (which then uses
    :meth:`sample`, blind to the positives). Once :meth:`fit` on the known
    positives, it also draws *per-source, filtered* negatives:

    * :meth:`sample_negatives` returns a ``[B, k]`` tensor whose row
      :math:`i` holds the negatives of positive :math:`i` ("triplet" mode);
    * :meth:`sample_pairs` returns random negative pairs ("binary" mode).

    With :obj:`filtered=True`, no returned negative is a known positive (nor
    the source itself in a homogeneous graph unless :obj:`allow_self=True`)
    and the count asked for is always returned: a source without any valid
    negative raises a :class:`ValueError` naming it, or, with
    :obj:`on_unsatisfiable="drop"`, is dropped and counted in
    :attr:`num_dropped`. Subclasses define the proposal distribution.

    Args:
        mode (str, optional): :obj:`"triplet"` or :obj:`"binary"`.
            (default: :obj:`"triplet"`)
        amount (int or float, optional): Negatives per positive.
            (default: :obj:`1`)
        filtered (bool, optional): Exclude known positives.
            (default: :obj:`True`)
        allow_self (bool, optional): In a homogeneous graph, allow a node to
            be drawn as its own negative. (default: :obj:`False`)
        undirected (bool, optional): Treat each positive :math:`(u, v)` of a
            homogeneous graph as also :math:`(v, u)`. (default: :obj:`False`)
        on_unsatisfiable (str, optional): :obj:`"raise"` or :obj:`"drop"`
            for sources that have no valid negative. (default: :obj:`"raise"`)
        max_trials (int, optional): Rejection rounds for proposal
            distributions that are not sampled exactly; what remains after
            them is drawn exactly from the filtered distribution.
            (default: :obj:`8`)
        seed (int, optional): Seed of the sampler's own generator; each
            :class:`~torch.utils.data.DataLoader` worker derives a distinct,
            reproducible stream from it. (default: :obj:`None`)
        generator (torch.Generator, optional): A generator to use instead of
            :obj:`seed` in the main process. (default: :obj:`None`)
    """

    def __init__(
        self,
        mode: str = 'triplet',
        amount: Union[int, float] = 1,
        *,
        filtered: bool = True,
        allow_self: bool = False,
        undirected: bool = False,
        on_unsatisfiable: str = 'raise',
        max_trials: int = 8,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__(mode, amount)
        if not isinstance(filtered, bool):
            raise TypeError(
                f"'filtered' must be a bool (got {type(filtered).__name__})"
            )
        if on_unsatisfiable not in ('raise', 'drop'):
            raise ValueError(
                f"'on_unsatisfiable' must be 'raise' or 'drop' "
                f'(got {on_unsatisfiable!r})'
            )
        check_positive_int(max_trials, 'max_trials')
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int)
        ):
            raise TypeError(
                f"'seed' must be an int (got {type(seed).__name__})"
            )
        if generator is not None and not isinstance(
            generator, torch.Generator
        ):
            raise TypeError(
                f"'generator' must be a torch.Generator (got "
                f'{type(generator).__name__})'
            )
        self.filtered = filtered
        self.allow_self = allow_self
        self.undirected = undirected
        self.on_unsatisfiable = on_unsatisfiable
        self.max_trials = max_trials
        self.seed = seed
        self.generator = generator
        self.num_dropped = 0
        self._indices: Dict[Optional[EdgeType], PositiveIndex] = {}
        self._pair_src_weight: Dict[Optional[EdgeType], Tensor] = {}
        self._worker_key = None
        self._worker_generator: Optional[torch.Generator] = None

    # -------------------------------------------------------------- fitting
    def fit(
        self,
        data_or_edge_index,
        num_nodes: Optional[Union[int, Tuple[int, int]]] = None,
        *,
        edge_type: Optional[Union[EdgeType, Sequence[EdgeType]]] = None,
        extra_positives: Optional[Positives] = None,
    ) -> 'NegativeSampler':
        r"""Builds the index of known positives and returns :obj:`self`.

        Args:
            data_or_edge_index: A :class:`~torch_geometric.data.Data`, a
                :class:`~torch_geometric.data.HeteroData`, or an
                :obj:`edge_index` of shape ``[2, E]``.
            num_nodes (int or (int, int), optional): With an
                :obj:`edge_index`: the number of nodes, or the numbers of
                source and destination nodes of a bipartite graph.
            edge_type (tuple or list of tuples, optional): With a
                :class:`~torch_geometric.data.HeteroData`: the edge type(s)
                to index (default: all of them).
            extra_positives (torch.Tensor or list or dict, optional): Further
                positives no negative may hit (e.g. validation and test
                edges); a dict keyed by edge type for heterogeneous data.
        """
        from torch_geometric.data import Data, HeteroData

        self._indices, self._pair_src_weight = {}, {}
        if isinstance(data_or_edge_index, HeteroData):
            data = data_or_edge_index
            if edge_type is None:
                edge_types = data.edge_types
            elif isinstance(edge_type, tuple) and isinstance(
                edge_type[0], str
            ):
                edge_types = [edge_type]
            else:
                edge_types = list(edge_type)
            if extra_positives is not None and not isinstance(
                extra_positives, dict
            ):
                raise TypeError(
                    "'extra_positives' must be a dict keyed by "
                    'edge type for HeteroData (got '
                    f'{type(extra_positives).__name__})'
                )
            for et in edge_types:
                et = data._to_canonical(et)
                if et not in data.edge_types:
                    raise ValueError(
                        f"'edge_type' {et} is not an edge type "
                        f'of the data ({data.edge_types})'
                    )
                src_t, _, dst_t = et
                extra = (extra_positives or {}).get(et)
                self._indices[et] = self._make_index(
                    data[et].edge_index,
                    data[src_t].num_nodes,
                    data[dst_t].num_nodes,
                    homogeneous=src_t == dst_t,
                    extra=extra,
                )
            return self
        if isinstance(data_or_edge_index, Data):
            edge_index = data_or_edge_index.edge_index
            if num_nodes is None:
                num_nodes = data_or_edge_index.num_nodes
        else:
            edge_index = data_or_edge_index
            check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
            if num_nodes is None:
                num_nodes = (
                    int(edge_index.max()) + 1 if edge_index.numel() > 0 else 1
                )
        if isinstance(extra_positives, dict):
            raise TypeError(
                "'extra_positives' must be a tensor or a list of "
                'tensors for a homogeneous or bipartite graph '
                '(got dict)'
            )
        if isinstance(num_nodes, (tuple, list)):
            if len(num_nodes) != 2:
                raise ValueError(
                    f"'num_nodes' must be an int or a pair (got {num_nodes!r})"
                )
            num_src, num_dst = num_nodes
            homogeneous = False
        else:
            num_src = num_dst = num_nodes
            homogeneous = True
        self._indices[None] = self._make_index(
            edge_index, num_src, num_dst, homogeneous, extra_positives
        )
        return self

    def _make_index(
        self, edge_index, num_src, num_dst, homogeneous, extra
    ) -> PositiveIndex:
        if not homogeneous and self.undirected:
            raise ValueError(
                "'undirected=True' needs a homogeneous graph "
                '(got a bipartite one)'
            )
        return PositiveIndex(
            edge_index,
            num_src,
            num_dst,
            undirected=self.undirected and homogeneous,
            exclude_self=homogeneous and not self.allow_self,
            extra_positives=extra,
        )

    @property
    def is_fitted(self) -> bool:
        return len(self._indices) > 0

    def index(self, edge_type: Optional[EdgeType] = None) -> PositiveIndex:
        r"""Returns the :class:`PositiveIndex` of :obj:`edge_type`."""
        if not self._indices:
            raise RuntimeError(
                f"'{self.__class__.__name__}' has no index of positives yet; "
                f"call 'fit(data)' first"
            )
        if edge_type not in self._indices:
            if edge_type is None and len(self._indices) == 1:
                return next(iter(self._indices.values()))
            raise ValueError(
                f"'edge_type' {edge_type!r} was not fitted "
                f'(fitted: {list(self._indices)})'
            )
        return self._indices[edge_type]

    def to(self, device) -> 'NegativeSampler':
        r"""Moves the index (and sampler state) to :obj:`device`."""
        for index in self._indices.values():
            index.to(device)
        self._pair_src_weight = {
            key: value.to(device)
            for key, value in self._pair_src_weight.items()
        }
        self._move_state(device)
        return self

    def _move_state(self, device):
        pass

    def share_memory_(self) -> 'NegativeSampler':
        r"""Moves the index of positives to shared memory, so that
        :class:`~torch.utils.data.DataLoader` workers read one copy instead
        of each receiving its own."""
        for index in self._indices.values():
            index.share_memory_()
        return self

    # ----------------------------------------------------------- generators
    def get_generator(self, device=None) -> Optional[torch.Generator]:
        r"""Returns the generator for this process: the given one (or one
        seeded with :obj:`seed`) in the main process, and in a
        :class:`~torch.utils.data.DataLoader` worker one seeded from the
        sampler's seed and the worker's own seed, so that workers draw
        distinct streams that are reproducible under :func:`torch.manual_seed`.
        Returns :obj:`None` (the global generator) if neither :obj:`seed` nor
        :obj:`generator` was given."""
        if self.seed is None and self.generator is None:
            return None
        info = torch.utils.data.get_worker_info()
        key = (os.getpid(), None if info is None else info.seed)
        if self._worker_key != key:
            self._worker_key = key
            base = (
                self.seed
                if self.seed is not None
                else self.generator.initial_seed()
            )
            if info is None and self.generator is not None:
                self._worker_generator = self.generator
            else:
                seed = (
                    base if info is None else hash((base, info.seed)) % (2**63)
                )
                self._worker_generator = torch.Generator().manual_seed(seed)
        return self._worker_generator

    def reseed(self, seed: int) -> 'NegativeSampler':
        r"""Restarts the sampler's random stream from :obj:`seed` (e.g. at
        every epoch, so that a run resumed from a checkpoint draws what an
        uninterrupted run would have drawn)."""
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(
                f"'seed' must be an int (got {type(seed).__name__})"
            )
        self.seed, self.generator = seed, None
        self._worker_key = None
        return self

    # ------------------------------------------------------------ proposals
    def _propose(
        self,
        src: Optional[Tensor],
        num: int,
        index: PositiveIndex,
        edge_type,
        generator,
    ) -> Tensor:
        r"""Draws :obj:`num` destination nodes from the (unfiltered)
        proposal distribution; :obj:`src` (of shape ``[num]``) is given in
        per-source sampling."""
        raise NotImplementedError

    def _valid_mass(
        self, src: Tensor, index: PositiveIndex, edge_type
    ) -> Tensor:
        r"""Returns, per source, the proposal mass left after removing its
        positives (zero means no valid negative)."""
        return index.num_candidates(src).to(torch.float)

    def _sample_filtered(
        self, src: Tensor, index: PositiveIndex, edge_type, generator
    ) -> Tensor:
        r"""Draws one filtered negative for every (satisfiable) source in
        :obj:`src`: rejection for :attr:`max_trials` rounds, then an exact
        draw for what is left."""
        out = self._propose(src, src.numel(), index, edge_type, generator)
        bad = index.contains_unchecked(src, out)
        for _ in range(self.max_trials):
            if not bool(bad.any()):
                return out
            idx = bad.nonzero().view(-1)
            new = self._propose(
                src[idx], idx.numel(), index, edge_type, generator
            )
            out[idx] = new
            bad[idx] = index.contains_unchecked(src[idx], new)
        idx = bad.nonzero().view(-1)
        if idx.numel() > 0:
            out[idx] = self._sample_exact(
                src[idx], index, edge_type, generator
            )
        return out

    def _sample_exact(
        self, src: Tensor, index: PositiveIndex, edge_type, generator
    ) -> Tensor:
        r"""Draws exactly from the filtered distribution (the fallback after
        rejection). The default works from a dense weight row per source, in
        chunks of bounded memory."""
        weight = self._dense_weight(index, edge_type)
        out = torch.empty_like(src)
        chunk = max(1, 2**24 // index.num_dst_nodes)
        for i in range(0, src.numel(), chunk):
            part = src[i : i + chunk]
            w = weight.view(1, -1).repeat(part.numel(), 1)
            batch, dst = index.neighbors(part)
            w[batch, dst] = 0
            u = uniform((part.numel(), 1), w.device, generator, torch.float64)
            cdf = w.double().cumsum(1)
            pick = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)
            out[i : i + chunk] = pick.view(-1).clamp_(
                max=index.num_dst_nodes - 1
            )
        return out

    def _dense_weight(self, index: PositiveIndex, edge_type) -> Tensor:
        return torch.ones(index.num_dst_nodes, device=index.device)

    # ------------------------------------------------------------ sampling
    def _check_src(self, src: Tensor, index: PositiveIndex) -> None:
        check_index_tensor(src, 'src', dim=1)
        if src.device != index.device:
            raise ValueError(
                f"'src' is on {src.device} but the sampler's "
                f'index is on {index.device}; call '
                f"'sampler.to(device)'"
            )
        check_in_range(src, 'src', index.num_src_nodes)

    def _check_unsatisfiable(
        self, src: Tensor, index: PositiveIndex, edge_type, drop: bool = True
    ) -> Tensor:
        r"""Returns the mask of sources that have a valid negative; raises
        for the others (or, with :obj:`on_unsatisfiable="drop"` and
        :obj:`drop`, counts them as dropped)."""
        ok = self._valid_mass(src, index, edge_type) > 0
        if bool(ok.all()):
            return ok
        bad = src[~ok]
        if self.on_unsatisfiable == 'raise' or not drop:
            raise UnsatisfiableError(
                f'source node {int(bad[0])}'
                f'{"" if edge_type is None else f" of edge type {edge_type}"}'
                f' has no valid negative: it is a known positive of every '
                f'candidate destination ({int(bad.numel())} such '
                f'positive(s) in the batch); pass '
                f"on_unsatisfiable='drop' to skip them"
            )
        num = int(bad.numel())
        self.num_dropped += num
        warnings.warn(
            f"'{self.__class__.__name__}' dropped {num} positive(s) "
            f'whose source has no valid negative',
            stacklevel=3,
        )
        return ok

    def sample_negatives(
        self,
        src: Tensor,
        dst_pos: Optional[Tensor] = None,
        num_neg: Optional[int] = None,
        *,
        edge_type: Optional[EdgeType] = None,
        return_mask: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""Draws :obj:`num_neg` negatives for every source node.

        Args:
            src (torch.Tensor): Source nodes of the positives, shape ``[B]``.
            dst_pos (torch.Tensor, optional): Their positive destinations,
                shape ``[B]`` (used by samplers that condition on them).
            num_neg (int, optional): Negatives per positive
                (default: ``ceil(amount)``).
            edge_type (tuple, optional): The edge type, for heterogeneous
                data.
            return_mask (bool, optional): Also return the ``[B]`` mask of
                positives kept (all :obj:`True` unless
                :obj:`on_unsatisfiable="drop"`). (default: :obj:`False`)

        Returns:
            A ``[B', k]`` tensor of destination nodes, row :math:`i` for the
            :math:`i`-th kept positive (:math:`B' = B` unless sources were
            dropped); with :obj:`return_mask`, also the ``[B]`` mask.
        """
        index = self.index(edge_type)
        self._check_src(src, index)
        if dst_pos is not None:
            check_index_tensor(dst_pos, 'dst_pos', dim=1)
            if dst_pos.numel() != src.numel():
                raise ValueError(
                    f"'dst_pos' must have as many entries as "
                    f"'src' ({src.numel()}) (got "
                    f'{dst_pos.numel()})'
                )
            check_in_range(dst_pos, 'dst_pos', index.num_dst_nodes)
        if num_neg is None:
            num_neg = math.ceil(self.amount)
        check_positive_int(num_neg, 'num_neg')
        src = src.long()
        keep = torch.ones(src.numel(), dtype=torch.bool, device=src.device)
        if self.filtered:
            keep = self._check_unsatisfiable(src, index, edge_type)
            src = src[keep]
            if dst_pos is not None:
                dst_pos = dst_pos[keep]
        generator = self.get_generator()
        out = self._sample_rows(
            src, dst_pos, num_neg, index, edge_type, generator
        )
        return (out, keep) if return_mask else out

    def sample_trusted(
        self,
        src: Tensor,
        num_neg: int,
        *,
        edge_type: Optional[EdgeType] = None,
    ) -> Tensor:
        r""":meth:`sample_negatives` for hot loops whose sources were
        validated once up front (see :meth:`check_sources`): no range,
        device or satisfiability check, hence no host synchronisation per
        call on a GPU. Returns ``[B, num_neg]``."""
        return self._sample_rows(
            src,
            None,
            num_neg,
            self.index(edge_type),
            edge_type,
            self.get_generator(),
        )

    def check_sources(
        self, src: Tensor, *, edge_type: Optional[EdgeType] = None
    ) -> None:
        r"""Raises the errors :meth:`sample_negatives` would raise for
        :obj:`src` (out of range, wrong device, or, when filtered, a source
        without any valid negative), so that a loop can then call
        :meth:`sample_trusted` on subsets of :obj:`src`."""
        index = self.index(edge_type)
        self._check_src(src, index)
        if self.filtered:
            self._check_unsatisfiable(src.long(), index, edge_type, drop=False)

    def _sample_rows(
        self,
        src: Tensor,
        dst_pos: Optional[Tensor],
        num_neg: int,
        index: PositiveIndex,
        edge_type,
        generator,
    ) -> Tensor:
        flat = src.view(-1, 1).expand(-1, num_neg).reshape(-1)
        if self.filtered:
            out = self._sample_filtered(flat, index, edge_type, generator)
        else:
            out = self._propose(
                flat, flat.numel(), index, edge_type, generator
            )
        return out.view(-1, num_neg)

    def sample_pairs(
        self,
        num_samples: int,
        *,
        edge_type: Optional[EdgeType] = None,
    ) -> Tuple[Tensor, Tensor]:
        r"""Draws :obj:`num_samples` random negative pairs ``(src, dst)``:
        sources uniformly among those that have a valid negative (or by
        :obj:`src_weight`), destinations from the sampler's distribution
        given the source, filtered if :obj:`filtered=True`.

        Returns:
            Two tensors of shape ``[num_samples]``.
        """
        index = self.index(edge_type)
        check_positive_int(num_samples, 'num_samples')
        generator = self.get_generator()
        src = self._propose_src(num_samples, index, edge_type, generator)
        if self.filtered:
            dst = self._sample_filtered(src, index, edge_type, generator)
        else:
            dst = self._propose(src, num_samples, index, edge_type, generator)
        return src, dst

    def _propose_src(
        self, num: int, index: PositiveIndex, edge_type, generator
    ) -> Tensor:
        if self.filtered:
            # The source weights depend only on the fitted index: computed
            # over all sources once, not on every call.
            weight = self._pair_src_weight.get(edge_type)
            if weight is None:
                weight = self._filtered_src_weight(index, edge_type)
                self._pair_src_weight[edge_type] = weight
            return _draw_weighted(weight, num, generator)
        if self.src_weight is not None:
            return _draw_weighted(
                self.src_weight.to(index.device), num, generator
            )
        return _randint(index.num_src_nodes, num, index.device, generator)

    def _filtered_src_weight(self, index: PositiveIndex, edge_type) -> Tensor:
        r"""Weights of the sources of binary pairs: zero for sources
        without a valid negative, :obj:`src_weight` (or one) otherwise."""
        all_src = torch.arange(index.num_src_nodes, device=index.device)
        ok = self._valid_mass(all_src, index, edge_type) > 0
        if not bool(ok.any()):
            raise UnsatisfiableError(
                'no source node has a valid negative: every pair is a '
                'known positive'
            )
        weight = ok.to(torch.float64)
        if self.src_weight is not None:
            weight = weight * self.src_weight.to(weight.device)
        return weight

    # --------------------------------------------------- PyG's static hook
    def sample(
        self, num_samples: int, endpoint: str, num_nodes: Optional[int] = None
    ) -> Tensor:
        r"""PyG's :class:`~torch_geometric.sampler.NegativeSampling` hook:
        draws :obj:`num_samples` nodes for :obj:`endpoint` from the sampler's
        distribution, unfiltered (PyG does not pass the positives here; use
        :class:`torch_geometric_negsamp.loader.LinkNeighborLoader` for
        filtered, per-source negatives)."""
        generator = self.get_generator()
        if endpoint == 'dst':
            out = self._static_dst(num_samples, num_nodes, generator)
            if out is not None:
                return out.cpu()
        weight = self.src_weight if endpoint == 'src' else self.dst_weight
        if weight is not None:  # PyG's loader assembles batches on the CPU
            return _draw_weighted(weight.cpu(), num_samples, generator)
        if num_nodes is None:
            raise ValueError(
                f"'num_nodes' is needed by "
                f"'{self.__class__.__name__}.sample' (got None)"
            )
        return _randint(num_nodes, num_samples, 'cpu', generator)

    def _static_dst(self, num_samples, num_nodes, generator):
        return None

    def _extra_repr(self) -> str:
        return ''

    def __repr__(self) -> str:
        extra = self._extra_repr()
        return (
            f"{self.__class__.__name__}(mode='{self.mode.value}', "
            f'amount={self.amount}{", " + extra if extra else ""}, '
            f'filtered={self.filtered}, seed={self.seed})'
        )

    def __eq__(self, other) -> bool:  # dataclass equality is field-based
        return self is other

    __hash__ = object.__hash__


def _randint(high: int, num: int, device, generator) -> Tensor:
    return randint_below(
        torch.full((num,), high, dtype=torch.long, device=device), generator
    )


def _draw_weighted(weight: Tensor, num: int, generator) -> Tensor:
    r"""Inverse-CDF draws proportional to :obj:`weight` (any device)."""
    cdf = weight.double().cumsum(0)
    u = uniform(num, weight.device, generator, torch.float64) * cdf[-1]
    return torch.searchsorted(cdf, u, right=True).clamp_(
        max=weight.numel() - 1
    )
