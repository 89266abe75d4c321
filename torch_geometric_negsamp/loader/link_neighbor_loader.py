r"""A :class:`torch_geometric.loader.LinkNeighborLoader` with filtered,
per-source negatives."""

from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch_geometric.loader
import torch_geometric.typing
from torch import Tensor
from torch_geometric.data import Data, HeteroData
from torch_geometric.sampler import NegativeSampling, NeighborSampler
from torch_geometric.sampler.base import SubgraphType
from torch_geometric.typing import EdgeType, InputEdges, OptTensor

from torch_geometric_negsamp._edge_types import (
    is_typed_edge_index,
    label_edges,
    typed_positives,
)
from torch_geometric_negsamp._validate import check_bool, check_instance
from torch_geometric_negsamp.sampler.base import NegativeSampler
from torch_geometric_negsamp.sampler.neighbor_backend import (
    BACKEND_SETTINGS,
    neighbor_backend,
)
from torch_geometric_negsamp.sampler.seed_aware_mixin import (
    SeedAwareSamplerMixin,
)
from torch_geometric_negsamp.sampler.seed_aware_neighbor_sampler import (
    SeedAwareNeighborSampler,
)
from torch_geometric_negsamp.sampler.seed_aware_torch_neighbor_sampler import (
    SeedAwareTorchNeighborSampler,
)

EdgeIndices = Union[Tensor, Sequence[Tensor]]
ExtraPositives = Union[EdgeIndices, Dict[EdgeType, EdgeIndices]]


class LinkNeighborLoader(torch_geometric.loader.LinkNeighborLoader):
    r"""PyG's :class:`torch_geometric.loader.LinkNeighborLoader` (neighbour
    sampling of Hamilton et al., 2017, "Inductive Representation Learning on
    Large Graphs", around mini-batches of links) whose negatives are drawn
    per positive and are never known positives, when :obj:`neg_sampling` is
    a :class:`~torch_geometric_negsamp.sampler.NegativeSampler`.

    PyG's own loader draws negatives without looking at the positives, so on
    dense graphs many of them are real edges (false negatives). Here the
    sampler is fitted on the known positives and draws, for every positive
    :math:`(u, v)` of the mini-batch, negatives :math:`v'` with
    :math:`(u, v') \notin \mathcal{E}` (the "filtered setting" of Bordes et
    al., 2013). The mini-batches have PyG's exact format:

    * triplet mode: :obj:`src_index` ``[B]``, :obj:`dst_pos_index` ``[B]``,
      :obj:`dst_neg_index` ``[B, k]`` (``[B]`` when :math:`k = 1`), row
      :math:`i` of :obj:`dst_neg_index` belonging to positive :math:`i`, in
      :obj:`disjoint` mode too;
    * binary mode: :obj:`edge_label_index` ``[2, B + N]`` (positives first)
      and :obj:`edge_label`, the :math:`N = \lceil B \cdot
      \mathrm{amount} \rceil` negative pairs being random non-edges.

    If the sampler is not fitted yet, the loader fits it on the graph's
    edges, the :obj:`edge_label_index` positives and :obj:`extra_positives`
    (for :class:`~torch_geometric.data.HeteroData`: on the edge type of
    :obj:`edge_label_index`). With :obj:`on_unsatisfiable="drop"`, positives
    whose source has no valid negative are removed from the mini-batch.

    Any other :obj:`neg_sampling` is passed to PyG unchanged. The
    neighbour-sampling backend is chosen per request by
    :func:`~torch_geometric_negsamp.sampler.neighbor_backend`: PyG's compiled
    sampler (:obj:`pyg-lib` or :obj:`torch-sparse`) where it supports the
    request, the pure-PyTorch
    :class:`~torch_geometric_negsamp.sampler.TorchNeighborSampler` where it
    does not (e.g. :obj:`disjoint=True` with :obj:`torch-sparse` alone) or
    where neither is installed, so the loader works after a plain
    :obj:`pip install`.

    With :obj:`num_workers > 0`, every worker draws a distinct negative
    stream; if the sampler has a :obj:`seed`, the streams are reproducible
    under :func:`torch.manual_seed`.

    Args:
        data (torch_geometric.data.Data or torch_geometric.data.HeteroData):
            The graph.
        num_neighbors (List[int] or Dict[Tuple[str, str, str], List[int]]):
            Neighbours to sample per node and hop (:obj:`-1` for all).
        edge_label_index (torch.Tensor or tuple, optional): The positive
            links of the mini-batches, shape ``[2, P]`` (default: all
            edges); for heterogeneous data their edge type is required,
            alone or as ``(edge_type, edge_index)`` (the ``(src, dst)``
            shorthand resolved as PyG does).
        extra_positives (torch.Tensor or list or dict, optional): Further
            edges no negative may hit, e.g. validation and test edges, each
            of shape ``[2, *]``; a dict keyed by the edge type of
            :obj:`edge_label_index` for heterogeneous data (keys resolved
            as PyG does; another or an unknown edge type is an error). Only
            used to fit an unfitted sampler. (default: :obj:`None`)
        neg_sampling (torch_geometric.sampler.NegativeSampling, optional):
            The negative sampling configuration: a
            :class:`~torch_geometric_negsamp.sampler.NegativeSampler` for
            filtered, per-source negatives, anything else for PyG's
            behaviour. (default: :obj:`None`)
        neighbor_sampler (torch_geometric.sampler.NeighborSampler, optional):
            A neighbour sampler to use instead of the default one; with a
            :class:`~torch_geometric_negsamp.sampler.NegativeSampler` it must
            mix in
            :class:`~torch_geometric_negsamp.sampler.SeedAwareSamplerMixin`.
            (default: :obj:`None`, the backend of
            :func:`~torch_geometric_negsamp.sampler.neighbor_backend`)
        **kwargs: The other arguments of
            :class:`torch_geometric.loader.LinkNeighborLoader`
            (:obj:`edge_label`, :obj:`replace`, :obj:`subgraph_type`,
            :obj:`disjoint`, :obj:`transform`, ...) and of
            :class:`torch.utils.data.DataLoader` (:obj:`batch_size`,
            :obj:`shuffle`, :obj:`num_workers`, ...).

    Example:
        >>> sampler = UniformSampler('triplet', amount=4, seed=0)
        >>> loader = LinkNeighborLoader(data, [10, 5], neg_sampling=sampler,
        ...                             batch_size=256, shuffle=True)
        >>> batch = next(iter(loader))
        >>> batch.dst_neg_index.shape  # [256, 4], never a known edge
    """

    def __init__(
        self,
        data: Union[Data, HeteroData],
        num_neighbors: Union[List[int], Dict[EdgeType, List[int]]],
        edge_label_index: InputEdges = None,
        edge_label: OptTensor = None,
        edge_label_time: OptTensor = None,
        replace: bool = False,
        subgraph_type: Union[SubgraphType, str] = 'directional',
        disjoint: bool = False,
        temporal_strategy: str = 'uniform',
        neg_sampling: Optional[NegativeSampling] = None,
        neg_sampling_ratio: Optional[Union[int, float]] = None,
        time_attr: Optional[str] = None,
        weight_attr: Optional[str] = None,
        transform: Optional[Callable] = None,
        transform_sampler_output: Optional[Callable] = None,
        is_sorted: bool = False,
        filter_per_worker: Optional[bool] = None,
        neighbor_sampler: Optional[NeighborSampler] = None,
        directed: bool = True,
        extra_positives: Optional[ExtraPositives] = None,
        **kwargs,
    ):
        for flag, value in (
            ('replace', replace),
            ('disjoint', disjoint),
            ('is_sorted', is_sorted),
            ('directed', directed),
        ):
            check_bool(value, flag)
        if filter_per_worker is not None:
            check_bool(filter_per_worker, 'filter_per_worker')
        ours = isinstance(neg_sampling, NegativeSampler)
        if (
            ours
            and neg_sampling_ratio is not None
            and neg_sampling_ratio != 0.0
        ):
            raise ValueError(
                f"'neg_sampling_ratio' would replace 'neg_sampling' "
                f'({neg_sampling.__class__.__name__}); pass only one of them '
                f'(got neg_sampling_ratio={neg_sampling_ratio})'
            )
        if extra_positives is not None and not ours:
            raise ValueError(
                f"'extra_positives' needs a 'NegativeSampler' as "
                f"'neg_sampling' (got "
                f"{type(neg_sampling).__name__}); PyG's negative sampling "
                f'does not filter'
            )
        if (
            ours
            and neighbor_sampler is not None
            and not isinstance(neighbor_sampler, SeedAwareSamplerMixin)
        ):
            raise TypeError(
                f"'neighbor_sampler' must mix in 'SeedAwareSamplerMixin' to "
                f"draw the negatives of '{neg_sampling.__class__.__name__}' "
                f'(got {type(neighbor_sampler).__name__})'
            )
        label = None
        if isinstance(data, (Data, HeteroData)):
            label = label_edges(data, edge_label_index)
            if isinstance(data, HeteroData):
                # PyG asserts on edge types: hand it the resolved one.
                edge_label_index = (
                    (label[0], edge_label_index[1])
                    if is_typed_edge_index(edge_label_index)
                    else label[0]
                )
        fit = None
        if ours:  # Validated now, fitted once PyG has checked the rest:
            fit = self._prepare_fit(data, label, neg_sampling, extra_positives)

        # What the neighbour sampler is built from, as PyG's loader does:
        sampling = dict(
            replace=replace,
            subgraph_type=subgraph_type,
            disjoint=disjoint,
            temporal_strategy=temporal_strategy,
            time_attr=time_attr,
            weight_attr=weight_attr,
            is_sorted=is_sorted,
            directed=directed,
        )
        if neighbor_sampler is None:
            request = {key: sampling[key] for key in BACKEND_SETTINGS}
            backend = neighbor_backend(**request)
            cls = (
                SeedAwareTorchNeighborSampler
                if backend == 'torch'
                else SeedAwareNeighborSampler
            )
            neighbor_sampler = cls(
                data,
                num_neighbors=num_neighbors,
                share_memory=kwargs.get('num_workers', 0) > 0,
                **sampling,
            )

        super().__init__(
            data,
            num_neighbors,
            edge_label_index=edge_label_index,
            edge_label=edge_label,
            edge_label_time=edge_label_time,
            neg_sampling=neg_sampling,
            neg_sampling_ratio=neg_sampling_ratio,
            transform=transform,
            transform_sampler_output=transform_sampler_output,
            filter_per_worker=filter_per_worker,
            neighbor_sampler=neighbor_sampler,
            **sampling,
            **kwargs,
        )
        if fit is not None:
            fit()
        if ours and kwargs.get('num_workers', 0) > 0:
            neg_sampling.share_memory_()  # one copy of the index for all

    @staticmethod
    def _prepare_fit(
        data,
        label: Optional[Tuple[Optional[EdgeType], Tensor]],
        sampler: NegativeSampler,
        extra_positives: Optional[ExtraPositives],
    ) -> Optional[Callable[[], None]]:
        r"""Checks the arguments and returns the call that fits the sampler
        (:obj:`None` if it is fitted already); :obj:`label` is what
        :func:`~torch_geometric_negsamp._edge_types.label_edges` returned
        (:obj:`None` for a (FeatureStore, GraphStore) :obj:`data`)."""
        if label is None:
            if not sampler.is_fitted:
                raise ValueError(
                    f"'{sampler.__class__.__name__}' must be fitted before "
                    f"it is used with a (FeatureStore, GraphStore) 'data' "
                    f'(got an unfitted sampler)'
                )
            if extra_positives is not None:
                raise ValueError(
                    "'extra_positives' needs 'data' to be a "
                    'Data or HeteroData object'
                )
            return None
        input_type, label_index = label
        if sampler.is_fitted:
            if extra_positives is not None:
                raise ValueError(
                    f"'extra_positives' was given but "
                    f"'{sampler.__class__.__name__}' is already fitted; pass "
                    f"them to 'fit()' or use an unfitted sampler"
                )
            sampler.index(input_type)  # raises if this type was not fitted
            return None
        if isinstance(data, HeteroData):
            what = 'a dict keyed by edge type for HeteroData'
            check_instance(
                extra_positives,
                'extra_positives',
                dict,
                what=what,
                optional=True,
            )
        extras = [label_index] + typed_positives(
            extra_positives, 'extra_positives', data, input_type
        )
        if isinstance(data, HeteroData):
            return lambda: sampler.fit(
                data,
                edge_type=input_type,
                extra_positives={input_type: extras},
            )
        return lambda: sampler.fit(data, extra_positives=extras)

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(neg_sampling={self.neg_sampling}, '
            f'neighbor_sampler='
            f'{self.link_sampler.__class__.__name__})'
        )
