r"""Negative sampling from k-hop regions (the three-region principle)."""

import math
from typing import Dict, NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._random import (
    draw_from_cdf,
    quantize_weights,
    randint_below,
    uniform,
)
from torch_geometric_negsamp._validate import (
    check_choice,
    check_probability,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.region.khop_region import (
    DISTANT,
    INTERMEDIATE,
    METHODS,
    KHopRegion,
    check_hops,
    check_options,
)
from torch_geometric_negsamp.sampler.base import (
    Key,
    NegativeSampler,
    UnsatisfiableError,
)


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def _log1m(p: float) -> float:
    return math.log1p(-p) if p < 1 else -math.inf


class _Fitted(NamedTuple):
    region: KHopRegion
    # [num_src] int64 cumulative weights of the sources PyG's static hook
    # draws for: their training edges, zero where nothing is valid (None
    # when no source has weight).
    static_cdf: Optional[Tensor]
    # Whether any source falls back to the other region, so that a draw
    # can skip the region no source can use (known at fit).
    any_no_intermediate: bool
    any_no_distant: bool


class RegionSampler(NegativeSampler):
    r"""Draws negatives from the :math:`k`-hop regions of their source, the
    three-region principle of `"Region or Global? A Principle for Negative
    Sampling in Graph-based Recommendation"
    <https://ieeexplore.ieee.org/document/9723581>`_ (Yang et al., IEEE
    TKDE 2022).

    At :meth:`fit`, every fitted edge type gets a
    :class:`~torch_geometric_negsamp.region.KHopRegion` of its edges
    (bipartite when its two node types differ, the homogeneous form
    otherwise; both directions of every edge with :obj:`undirected=True`)
    whose adjacent region holds every known positive of the sampler's
    index, extra positives included. For a source :math:`u` with
    intermediate region :math:`\mathcal{I}_u` (within :math:`k` hops, not
    adjacent) and distant region :math:`\mathcal{D}_u` (the rest), and
    :math:`p` = :obj:`distant_share`, one draw proposes

    .. math::
        P(v \mid u) = \frac{1 - p}{|\mathcal{I}_u|}
            \mathbb{1}[v \in \mathcal{I}_u]
            + \frac{p}{|\mathcal{D}_u|} \mathbb{1}[v \in \mathcal{D}_u]

    when both regions are non-empty: one Bernoulli(:math:`p`) choice of the
    region through the sampler's generator (:math:`p` rounded to a multiple
    of :math:`2^{-53}`), then one exact, rejection-free uniform draw in it.
    A source whose intermediate region is empty draws from its distant
    region (:math:`P(v \mid u) = 1 / |\mathcal{D}_u|` there), and the
    positives whose source did so are counted in :attr:`num_fallback`; one
    whose distant region is empty draws from its intermediate region. A
    source with neither (every destination adjacent) has no valid negative:
    :class:`UnsatisfiableError`, or dropped and counted in
    :attr:`num_dropped` with :obj:`on_unsatisfiable="drop"`. No draw is
    ever a known positive, and :meth:`log_prob` is exact for the mixture
    and both fallbacks.

    The paper's code draws from the intermediate region only (its distant
    share is 0, the default here); the paper asks to sample the distant
    region "less", e.g. :obj:`distant_share=0.1`.

    Not every option of
    :class:`~torch_geometric_negsamp.sampler.NegativeSampler` has a meaning
    here: the adjacent region is never sampled by definition, so
    :obj:`filtered=False` is refused (a region sampler has no unfiltered
    proposal to fall back on), and so is :obj:`allow_self=True` (a node is
    always in its own adjacent region).

    PyG's static hook :meth:`sample` (used when this sampler is handed to
    PyG's own :class:`~torch_geometric.loader.LinkNeighborLoader`) is not
    told the sources: it draws each destination from the regions'
    marginal, a source drawn in proportion to its training edges and then
    one region draw for it, for the single fitted edge type with that many
    destination nodes. Those negatives are not paired with their batch's
    sources; use :class:`torch_geometric_negsamp.loader.LinkNeighborLoader`
    for per-source region negatives.

    Args:
        mode (str, optional): :obj:`"triplet"` or :obj:`"binary"`.
            (default: :obj:`"triplet"`)
        amount (int or float, optional): Negatives per positive.
            (default: :obj:`1`)
        k (int, optional): Hops of the intermediate region (odd for a
            bipartite edge type). (default: :obj:`3`)
        adjacent_hops (int, optional): Hops of the adjacent region,
            :math:`1 \le a < k` (odd for a bipartite edge type).
            (default: :obj:`1`)
        distant_share (float, optional): The probability :math:`p` that a
            draw comes from the distant region. (default: :obj:`0.0`)
        method (str, optional): :obj:`"exact"` regions or :obj:`"walk"`
            (an intermediate region approximated by random walks; the
            adjacent region stays exact). (default: :obj:`"exact"`)
        memory_budget (int, optional): Bytes the region build may hold at
            once (default of
            :class:`~torch_geometric_negsamp.region.KHopRegion`).
        block_size (int, optional): Most source rows per product.
            (default: :obj:`None`)
        num_walks (int, optional): Walks per source (:obj:`"walk"`; seeded
            by :obj:`seed`, or the generator's initial seed).
            (default: :obj:`64`)
        **kwargs: Options of
            :class:`~torch_geometric_negsamp.sampler.NegativeSampler`
            (:obj:`seed`, :obj:`on_unsatisfiable`, :obj:`undirected`, ...).

    Example:
        >>> sampler = RegionSampler(amount=4, k=3, seed=0)
        >>> sampler.fit(edge_index, (num_users, num_items))
        >>> neg = sampler.sample_negatives(users)  # [B, 4]
    """

    def __init__(
        self,
        mode: str = 'triplet',
        amount: Union[int, float] = 1,
        *,
        k: int = 3,
        adjacent_hops: int = 1,
        distant_share: float = 0.0,
        method: str = 'exact',
        memory_budget: Optional[int] = None,
        block_size: Optional[int] = None,
        num_walks: int = 64,
        **kwargs,
    ):
        if kwargs.get('filtered', True) is not True:
            raise ValueError(
                "'filtered' must be True for RegionSampler: it never "
                'samples the adjacent region (the known positives), so it '
                f'has no unfiltered proposal (got {kwargs["filtered"]!r})'
            )
        if kwargs.get('allow_self', False) is not False:
            raise ValueError(
                "'allow_self' must be False for RegionSampler: a node is "
                f'always in its own adjacent region (got '
                f'{kwargs["allow_self"]!r})'
            )
        super().__init__(mode, amount, **kwargs)
        # Parity is checked at fit, where the graph says if it is bipartite.
        self.k, self.adjacent_hops = check_hops(k, adjacent_hops, False)
        self.distant_share = check_probability(distant_share, 'distant_share')
        self.method = check_choice(method, 'method', METHODS)
        options = check_options(
            block_size, memory_budget, method, num_walks, None, 'auto'
        )
        self.memory_budget = memory_budget  # None: the region's default
        self.block_size = options['block_size']
        self.num_walks = options['num_walks']
        self._regions: Dict[Key, _Fitted] = {}
        self._fallback: Optional[Tensor] = None

    _no_negative_reason = (
        'every destination is in its adjacent region (a known positive, or '
        "within 'adjacent_hops')"
    )

    # ----------------------------------------------------------------- fit
    def _fit_state(
        self, key: Key, edge_index: Tensor, index: PositiveIndex
    ) -> _Fitted:
        # allow_self is refused, so the index excludes self-loops exactly
        # when the fitted graph is homogeneous.
        if index.exclude_self:
            num_nodes = index.num_src_nodes
        else:
            num_nodes = (index.num_src_nodes, index.num_dst_nodes)
        walk_edges = edge_index.long()
        if index.undirected:
            walk_edges = torch.cat([walk_edges, walk_edges.flip(0)], 1)
        seed = self.seed
        if seed is None and self.generator is not None:
            seed = self.generator.initial_seed()
        region = KHopRegion(
            walk_edges,
            num_nodes,
            self.k,
            self.adjacent_hops,
            # Every positive of the index is adjacent: the extra positives
            # and, where they apply, the reversed edges and self-loops.
            extra_positives=torch.stack(index.edges()),
            block_size=self.block_size,
            memory_budget=self.memory_budget,
            method=self.method,
            num_walks=self.num_walks,
            seed=seed,
        )
        size_i, size_d = region.sizes(), region.distant_sizes()
        valid = (size_i + size_d) > 0
        degree = torch.bincount(walk_edges[0], minlength=region.num_users)
        units = degree * valid
        cdf = None
        if bool((units > 0).any()):
            cdf = quantize_weights(units.double(), 'training edges')
            cdf = cdf.cumsum(0)
        return _Fitted(
            region,
            cdf,
            bool(((size_i == 0) & valid).any()),
            bool(((size_d == 0) & valid).any()),
        )

    def _set_fit_state(self, state) -> None:
        self._regions = dict(state)
        self._fallback = None

    def region(self, edge_type: Key = None) -> KHopRegion:
        r"""Returns the :class:`~torch_geometric_negsamp.region.KHopRegion`
        of :obj:`edge_type`."""
        return self._regions[self._key(edge_type)].region

    def region_report(self, edge_type: Key = None) -> Dict[str, float]:
        r"""What the regions of :obj:`edge_type` cost and hold, as a dict:
        :obj:`seconds` (build time), :obj:`nbytes` (stored bytes),
        :obj:`pairs` (intermediate pairs), :obj:`fallback_sources` (sources
        whose intermediate region is empty but whose distant region is
        not: they draw from the distant region) and
        :obj:`unsatisfiable_sources` (sources without either)."""
        region = self.region(edge_type)
        size_i, size_d = region.sizes(), region.distant_sizes()
        return {
            'seconds': float(region.stats['seconds']),
            'nbytes': int(region.nbytes),
            'pairs': int(size_i.sum()),
            'fallback_sources': int(((size_i == 0) & (size_d > 0)).sum()),
            'unsatisfiable_sources': int(((size_i + size_d) == 0).sum()),
        }

    # -------------------------------------------------------------- counts
    @property
    def num_fallback(self) -> int:
        r"""Positives (or binary pairs) drawn since :meth:`fit` whose source
        has an empty intermediate region and drew from its distant region
        instead (counted on the regions' device, read here; assign
        :obj:`0` to restart the count)."""
        return 0 if self._fallback is None else int(self._fallback)

    @num_fallback.setter
    def num_fallback(self, value: int) -> None:
        if value != 0:
            raise ValueError(
                f"'num_fallback' can only be reset to 0 (got {value!r})"
            )
        self._fallback = None

    def _count_fallback(self, src: Tensor, key: Key) -> None:
        fitted = self._regions[key]
        if not fitted.any_no_intermediate or src.numel() == 0:
            return
        region = fitted.region
        empty = (region.sizes()[src] == 0) & (region.distant_sizes()[src] > 0)
        count = empty.sum()  # stays on the device: no synchronisation
        if self._fallback is None:
            self._fallback = count
        else:
            self._fallback = self._fallback + count.to(self._fallback.device)

    # ---------------------------------------------------------------- draws
    def _valid_mass(self, src: Tensor, index: PositiveIndex, key) -> Tensor:
        region = self._regions[key].region
        return region.sizes()[src] + region.distant_sizes()[src]

    _valid_mass_all = _valid_mass  # log_prob below is already normalised

    def _sample_filtered(
        self, src: Tensor, index: PositiveIndex, key: Key, gen
    ) -> Tensor:
        fitted = self._regions[key]
        region = fitted.region
        size_i = region.sizes()[src]
        size_d = region.distant_sizes()[src]
        distant = size_i == 0
        p = self.distant_share
        if p > 0.0:
            coin = uniform(src.shape, src.device, gen) < p
            distant = distant | (coin & (size_d > 0))
        size = torch.where(distant, size_d, size_i)
        rank = randint_below(size.clamp(min=1), gen)
        zero = torch.zeros_like(rank)
        out = None
        if p < 1.0 or fitted.any_no_distant:
            rank_i = torch.where(distant, zero, rank)
            out = region.select_intermediate_unchecked(src, rank_i)
        if p > 0.0 or fitted.any_no_intermediate:
            rank_d = torch.where(distant, rank, zero)
            far = region.select_distant_unchecked(src, rank_d)
            out = far if out is None else torch.where(distant, far, out)
        # A source without any valid negative (reachable only through
        # sample_trusted, which skips the check) gets -1, as the region's
        # own unchecked draws do.
        return torch.where(size > 0, out, -1)

    _sample_exact = _sample_filtered

    def _sample_rows(self, src, dst_pos, num_neg, index, key, gen) -> Tensor:
        self._count_fallback(src, key)
        return super()._sample_rows(src, dst_pos, num_neg, index, key, gen)

    def sample_pairs(
        self, num_samples: int, *, edge_type: Key = None
    ) -> Tuple[Tensor, Tensor]:
        src, dst = super().sample_pairs(num_samples, edge_type=edge_type)
        self._count_fallback(src, self._key(edge_type))
        return src, dst

    sample_pairs.__doc__ = NegativeSampler.sample_pairs.__doc__

    def _log_prob(
        self, src: Tensor, dst: Tensor, index: PositiveIndex, key: Key
    ) -> Tensor:
        region = self._regions[key].region
        label = region.region_of_unchecked(src, dst)
        size_i = region.sizes()[src].double()
        size_d = region.distant_sizes()[src].double()
        # Both regions present: the mixture; one of them empty: the other
        # one alone (the fallbacks).
        both = (size_i > 0) & (size_d > 0)
        p = self.distant_share
        zero = torch.zeros_like(size_i)
        log_i = torch.where(both, zero + _log1m(p), zero)
        log_d = torch.where(both, zero + _log(p), zero)
        lp_i = log_i - torch.log(size_i.clamp(min=1))
        lp_d = log_d - torch.log(size_d.clamp(min=1))
        out = torch.where(label == DISTANT, lp_d, -math.inf)
        return torch.where(label == INTERMEDIATE, lp_i, out)

    # --------------------------------------------------- PyG's static hook
    def _static_dst(self, num_samples, num_nodes, gen) -> Optional[Tensor]:
        if not self._regions:
            raise RuntimeError(
                f"'{self.__class__.__name__}' needs 'fit(data)' before it "
                f'can draw region negatives'
            )
        keys = [
            key
            for key, index in self._indices.items()
            if num_nodes is None or index.num_dst_nodes == num_nodes
        ]
        if len(keys) != 1:
            raise ValueError(
                f"'{self.__class__.__name__}.sample' cannot tell which "
                f'fitted edge type has {num_nodes} destination nodes; use '
                f'torch_geometric_negsamp.loader.LinkNeighborLoader, which '
                f'passes the edge type and the sources'
            )
        key = keys[0]
        cdf = self._regions[key].static_cdf
        if cdf is None:
            raise UnsatisfiableError(
                'no source of a training edge has a valid negative: every '
                'destination is in its adjacent region'
            )
        src = draw_from_cdf(cdf, num_samples, gen)
        return self._sample_filtered(src, self._indices[key], key, gen)

    # -------------------------------------------------------------- device
    def _move_state(self, device) -> None:
        for fitted in self._regions.values():
            fitted.region.to(device)
        self._regions = {
            key: fitted._replace(
                static_cdf=None
                if fitted.static_cdf is None
                else fitted.static_cdf.to(device)
            )
            for key, fitted in self._regions.items()
        }
        if self._fallback is not None:
            self._fallback = self._fallback.to(device)

    def share_memory_(self) -> 'RegionSampler':
        r"""Moves the indices of positives and the regions to shared
        memory, so that :class:`~torch.utils.data.DataLoader` workers read
        one copy."""
        super().share_memory_()
        for fitted in self._regions.values():
            fitted.region.share_memory_()
            if fitted.static_cdf is not None:
                fitted.static_cdf.share_memory_()
        return self

    def _extra_repr(self) -> str:
        return (
            f'k={self.k}, adjacent_hops={self.adjacent_hops}, '
            f'distant_share={self.distant_share}, method={self.method!r}'
        )
