r"""The base class of every negative sampler."""

import math
import warnings
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.sampler import NegativeSampling
from torch_geometric.sampler.base import NegativeSamplingMode

from torch_geometric_negsamp._random import (
    SeededStream,
    draw_from_cdf,
    quantize_weights,
    randint,
)
from torch_geometric_negsamp._repr import ArgumentRepr
from torch_geometric_negsamp._validate import (
    check_bool,
    check_choice,
    check_generator,
    check_index_tensor,
    check_positive_int,
    check_real,
    check_request_size,
    check_seed,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.sampler._fit import FitMixin, Key


class UnsatisfiableError(ValueError):
    r"""Raised when a source node has no valid negative left (it is a known
    positive of every destination it could be paired with)."""


class NegativeSampler(ArgumentRepr, FitMixin, NegativeSampling, SeededStream):
    r"""Base class of the library's negative samplers.

    A :class:`NegativeSampler` is a
    :class:`torch_geometric.sampler.NegativeSampling`, so it can be passed as
    :obj:`neg_sampling=` to PyG's own
    :class:`~torch_geometric.loader.LinkNeighborLoader` (which then uses
    :meth:`sample`, blind to the positives). Once :meth:`fit` on the known
    positives, it also draws *per-source, filtered* negatives:

    * :meth:`sample_negatives` returns a ``[B, k]`` tensor whose row
      :math:`i` holds the negatives of positive :math:`i` ("triplet" mode);
    * :meth:`sample_pairs` returns random negative pairs ("binary" mode);
    * :meth:`log_prob` gives the exact log-probability that one draw
      proposes a destination for a source (for logQ corrections).

    With :obj:`filtered=True`, no returned negative is a known positive (nor
    the source itself in a homogeneous graph unless :obj:`allow_self=True`)
    and the count asked for is always returned: a source without any valid
    negative raises a :class:`UnsatisfiableError` naming it, or, with
    :obj:`on_unsatisfiable="drop"`, is dropped and counted in
    :attr:`num_dropped`. Subclasses define the proposal distribution.

    Args:
        mode (str, optional): :obj:`"triplet"` or :obj:`"binary"`.
            (default: :obj:`"triplet"`)
        amount (int or float, optional): Negatives per positive (an integer
            in triplet mode). (default: :obj:`1`)
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
        if isinstance(mode, NegativeSamplingMode):
            mode = mode.value
        check_choice(mode, 'mode', ('triplet', 'binary'))
        check_real(amount, 'amount', minimum=0.0, open_min=True)
        if mode == 'triplet' and amount != math.ceil(amount):
            raise ValueError(
                f"'amount' must be an integer in triplet mode (got {amount})"
            )
        super().__init__(mode, amount)
        self.filtered = check_bool(filtered, 'filtered')
        self.allow_self = check_bool(allow_self, 'allow_self')
        self.undirected = check_bool(undirected, 'undirected')
        self.on_unsatisfiable = check_choice(
            on_unsatisfiable, 'on_unsatisfiable', ('raise', 'drop')
        )
        self.max_trials = check_positive_int(max_trials, 'max_trials')
        self.seed = None if seed is None else check_seed(seed)
        self.generator = check_generator(generator)
        self.num_dropped = 0
        self._indices: Dict[Key, PositiveIndex] = {}
        self._pair_src_units: Dict[Key, Tensor] = {}
        self._worker_key = None
        self._worker_generator: Optional[torch.Generator] = None

    # ------------------------------------------------------------ proposals
    def _propose(
        self, src: Tensor, num: int, index: PositiveIndex, key: Key, gen
    ) -> Tensor:
        r"""Draws :obj:`num` destination nodes from the (unfiltered)
        proposal distribution for the sources :obj:`src` (shape
        ``[num]``)."""
        raise NotImplementedError

    def _valid_mass(self, src: Tensor, index: PositiveIndex, key) -> Tensor:
        r"""Per source, the proposal mass left once its positives are
        removed (an ``int64`` count or weight units; zero means no valid
        negative)."""
        return index.num_dst_nodes - index.degree(src)

    def _sample_filtered(
        self, src: Tensor, index: PositiveIndex, key: Key, gen
    ) -> Tensor:
        r"""One filtered negative for every (satisfiable) source in
        :obj:`src`: rejection for :attr:`max_trials` rounds, then an exact
        draw (:meth:`_sample_exact`) for what is left."""
        out = self._propose(src, src.numel(), index, key, gen)
        bad = index.contains_unchecked(src, out)
        for _ in range(self.max_trials):
            if not bool(bad.any()):
                return out
            idx = bad.nonzero().view(-1)
            new = self._propose(src[idx], idx.numel(), index, key, gen)
            out[idx] = new
            bad[idx] = index.contains_unchecked(src[idx], new)
        idx = bad.nonzero().view(-1)
        if idx.numel() > 0:
            out[idx] = self._sample_exact(src[idx], index, key, gen)
        return out

    def _sample_exact(
        self, src: Tensor, index: PositiveIndex, key: Key, gen
    ) -> Tensor:
        r"""Draws exactly from the filtered distribution, in time that grows
        with the sources' positives, not with the number of nodes."""
        raise NotImplementedError

    def _log_prob(
        self, src: Tensor, dst: Tensor, index: PositiveIndex, key: Key
    ) -> Tensor:
        r"""Log-probability of one draw proposing :obj:`dst` for
        :obj:`src`, before filtering (float64)."""
        raise NotImplementedError

    # ------------------------------------------------------------ sampling
    def _check_src(self, src, index: PositiveIndex, name='src') -> Tensor:
        check_index_tensor(src, name, dim=1)
        return index.check_src(src, name)

    #: The end of the error for a source without a valid negative.
    _no_negative_reason = (
        'it is a known positive of every candidate destination'
    )

    def _check_unsatisfiable(
        self, src: Tensor, index: PositiveIndex, key: Key, drop: bool = True
    ) -> Tensor:
        r"""Returns the mask of sources that have a valid negative; raises
        for the others (or, with :obj:`on_unsatisfiable="drop"` and
        :obj:`drop`, counts them as dropped)."""
        ok = self._valid_mass(src, index, key) > 0
        if bool(ok.all()):
            return ok
        bad = src[~ok]
        if self.on_unsatisfiable == 'raise' or not drop:
            where = '' if key is None else f' of edge type {key}'
            raise UnsatisfiableError(
                f'source node {int(bad[0])}{where} has no valid negative: '
                f'{self._no_negative_reason} ({int(bad.numel())} such '
                f"positive(s) in the batch); pass on_unsatisfiable='drop' to "
                f'skip them'
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
        edge_type: Key = None,
        return_mask: bool = False,
        return_log_prob: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, ...]]:
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
            return_log_prob (bool, optional): Also return the ``[B', k]``
                exact log-probabilities that one draw proposes each
                negative for its source (:meth:`log_prob`).
                (default: :obj:`False`)

        Returns:
            A ``[B', k]`` tensor of destination nodes, row :math:`i` for the
            :math:`i`-th kept positive (:math:`B' = B` unless sources were
            dropped); then the mask and the log-probabilities, when asked
            for, in that order.
        """
        key = self._key(edge_type)
        index = self._indices[key]
        check_bool(return_mask, 'return_mask')
        check_bool(return_log_prob, 'return_log_prob')
        src = self._check_src(src, index)
        if dst_pos is not None:
            check_index_tensor(dst_pos, 'dst_pos', dim=1)
            if dst_pos.numel() != src.numel():
                raise ValueError(
                    f"'dst_pos' must have as many entries as 'src' "
                    f'({src.numel()}) (got {dst_pos.numel()})'
                )
            dst_pos = index.check_dst(dst_pos, 'dst_pos')
        if num_neg is None:
            num_neg = math.ceil(self.amount)
        check_positive_int(num_neg, 'num_neg')
        check_request_size(
            src.numel() * num_neg,
            'num_neg',
            device=index.device,
            what=f'{src.numel()} x {num_neg} negatives',
        )
        keep = torch.ones(src.numel(), dtype=torch.bool, device=src.device)
        if self.filtered:
            keep = self._check_unsatisfiable(src, index, key)
            src = src[keep]
            if dst_pos is not None:
                dst_pos = dst_pos[keep]
        out = self._sample_rows(
            src, dst_pos, num_neg, index, key, self.get_generator()
        )
        result = [out]
        if return_mask:
            result.append(keep)
        if return_log_prob:
            result.append(self._filtered_log_prob(src.view(-1, 1), out, key))
        return result[0] if len(result) == 1 else tuple(result)

    def sample_trusted(
        self, src: Tensor, num_neg: int, *, edge_type: Key = None
    ) -> Tensor:
        r""":meth:`sample_negatives` for hot loops whose sources were
        validated once up front (see :meth:`check_sources`): no range,
        device or satisfiability check, hence no host synchronisation per
        call on a GPU. Returns ``[B, num_neg]``."""
        key = self._key(edge_type)
        return self._sample_rows(
            src, None, num_neg, self._indices[key], key, self.get_generator()
        )

    def check_sources(self, src: Tensor, *, edge_type: Key = None) -> None:
        r"""Raises the errors :meth:`sample_negatives` would raise for
        :obj:`src` (out of range, wrong device, or, when filtered, a source
        without any valid negative), so that a loop can then call
        :meth:`sample_trusted` on subsets of :obj:`src`."""
        key = self._key(edge_type)
        index = self._indices[key]
        src = self._check_src(src, index)
        if self.filtered:
            self._check_unsatisfiable(src, index, key, drop=False)

    def _sample_rows(
        self, src, dst_pos, num_neg: int, index: PositiveIndex, key, gen
    ) -> Tensor:
        flat = src.view(-1, 1).expand(-1, num_neg).reshape(-1)
        if self.filtered:
            out = self._sample_filtered(flat, index, key, gen)
        else:
            out = self._propose(flat, flat.numel(), index, key, gen)
        return out.view(-1, num_neg)

    def log_prob(
        self, src: Tensor, dst: Tensor, *, edge_type: Key = None
    ) -> Tensor:
        r"""The exact log-probability (float64) that one draw of this
        sampler proposes :obj:`dst` for :obj:`src` (after filtering, when
        :obj:`filtered=True`: :math:`-\infty` for a known positive).
        :obj:`src` and :obj:`dst` broadcast.

        For a filtered source without any valid negative the distribution
        is undefined and :math:`-\infty` is returned."""
        key = self._key(edge_type)
        index = self._indices[key]
        src = index.check_src(src)
        dst = index.check_dst(dst)
        src, dst = torch.broadcast_tensors(src, dst)
        return self._filtered_log_prob(src, dst, key)

    def log_prob_trusted(
        self, src: Tensor, dst: Tensor, *, edge_type: Key = None
    ) -> Tensor:
        r""":meth:`log_prob` for hot loops whose sources were validated
        once (:meth:`check_sources`) and whose destinations the sampler drew
        (:meth:`sample_trusted`): no range or device check, hence no host
        synchronisation per call on a GPU. :obj:`src` and :obj:`dst`
        broadcast."""
        key = self._key(edge_type)
        src, dst = torch.broadcast_tensors(src, dst)
        return self._filtered_log_prob(src, dst, key)

    def _filtered_log_prob(self, src: Tensor, dst: Tensor, key) -> Tensor:
        index = self._indices[key]
        src = src.expand_as(dst)
        lp = self._log_prob(src, dst, index, key)
        if not self.filtered:
            return lp
        mass = self._valid_mass(src.reshape(-1), index, key).view(src.shape)
        full = self._valid_mass_all(src, index, key)
        lp = lp + torch.log(full.double()) - torch.log(mass.double())
        hit = index.contains_unchecked(src, dst) | (mass <= 0)
        return lp.masked_fill(hit, float('-inf'))

    def _valid_mass_all(self, src: Tensor, index: PositiveIndex, key):
        r"""The proposal's total mass (the denominator of
        :meth:`_log_prob`)."""
        return torch.full_like(src, index.num_dst_nodes)

    def sample_pairs(
        self, num_samples: int, *, edge_type: Key = None
    ) -> Tuple[Tensor, Tensor]:
        r"""Draws :obj:`num_samples` random negative pairs ``(src, dst)``:
        sources in proportion to their valid mass (so that, for the uniform
        sampler, pairs are uniform over all non-edges), destinations from
        the sampler's distribution given the source, filtered if
        :obj:`filtered=True`.

        Returns:
            Two tensors of shape ``[num_samples]``.
        """
        key = self._key(edge_type)
        index = self._indices[key]
        check_positive_int(num_samples, 'num_samples')
        check_request_size(
            2 * num_samples,
            'num_samples',
            device=index.device,
            what=f'{num_samples} pairs',
        )
        gen = self.get_generator()
        if self.filtered:
            units = self._pair_src_units.get(key)
            if units is None:  # depends on the fitted index only
                units = self._filtered_src_units(index, key)
                self._pair_src_units[key] = units
            src = draw_from_cdf(units.cumsum(0), num_samples, gen)
            return src, self._sample_filtered(src, index, key, gen)
        src = randint(index.num_src_nodes, num_samples, index.device, gen)
        return src, self._propose(src, num_samples, index, key, gen)

    def _filtered_src_units(self, index: PositiveIndex, key) -> Tensor:
        r"""Integer weights of the sources of binary pairs: the valid mass
        of each source (zero for sources without a valid negative)."""
        # One weight per source node, held while drawing:
        check_request_size(
            index.num_src_nodes,
            'num_nodes',
            element_size=32,
            device=index.device,
            what='binary-pair source weights',
        )
        all_src = torch.arange(index.num_src_nodes, device=index.device)
        mass = self._valid_mass(all_src, index, key)
        if not bool((mass > 0).any()):
            raise UnsatisfiableError(
                'no source node has a valid negative: every pair is a '
                'known positive'
            )
        return quantize_weights(mass.double(), 'valid mass')

    # --------------------------------------------------- PyG's static hook
    def sample(
        self, num_samples: int, endpoint: str, num_nodes: Optional[int] = None
    ) -> Tensor:
        r"""PyG's :class:`~torch_geometric.sampler.NegativeSampling` hook:
        draws :obj:`num_samples` nodes for :obj:`endpoint` from the sampler's
        distribution, unfiltered (PyG does not pass the positives here; use
        :class:`torch_geometric_negsamp.loader.LinkNeighborLoader` for
        filtered, per-source negatives)."""
        gen = self.get_generator()
        if endpoint == 'dst':
            out = self._static_dst(num_samples, num_nodes, gen)
            if out is not None:
                return out.cpu()
        if num_nodes is None:
            raise ValueError(
                f"'num_nodes' is needed by "
                f"'{self.__class__.__name__}.sample' (got None)"
            )
        return randint(num_nodes, num_samples, 'cpu', gen)

    def _static_dst(self, num_samples, num_nodes, gen) -> Optional[Tensor]:
        return None

    def _repr_args(self) -> List[str]:
        return [
            f"mode='{self.mode.value}'",
            f'amount={self.amount}',
            self._extra_repr(),
            f'filtered={self.filtered}',
            f'seed={self.seed}',
        ]

    def __eq__(self, other) -> bool:  # dataclass equality is field-based
        return self is other

    __hash__ = object.__hash__
