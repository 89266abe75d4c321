r"""The hook that lets a neighbour sampler draw negatives from the positives
of the mini-batch."""

import math
from typing import Dict, Optional, Tuple, Union

from torch import Tensor
from torch_geometric.sampler import (
    EdgeSamplerInput,
    HeteroSamplerOutput,
    NegativeSampling,
    SamplerOutput,
)

from torch_geometric_negsamp.sampler.base import (
    NegativeSampler,
    UnsatisfiableError,
)


class SeedAwareSamplerMixin:
    r"""Mixed into a :class:`torch_geometric.sampler.NeighborSampler`, makes
    :meth:`sample_from_edges` draw the negatives of a
    :class:`~torch_geometric_negsamp.sampler.NegativeSampler` *from the
    positive pairs of the mini-batch*: per source node and filtered against
    the known positives, as in the "filtered setting" of Bordes et al.
    (2013), "Translating Embeddings for Modeling Multi-relational Data".

    PyG's :meth:`torch_geometric.sampler.NegativeSampling.sample` never sees
    the positives, and PyG's loader does not filter false negatives.
    :meth:`sample_from_edges` does receive them (:obj:`inputs.row`,
    :obj:`inputs.col`, :obj:`inputs.input_type`), so the mixin computes the
    negatives there and hands PyG's own edge sampling a per-batch stand-in
    whose :meth:`sample` returns exactly those negatives, in the order PyG
    expects. All of PyG's bookkeeping (heterogeneous types, disjoint
    subgraphs, labels, node features) is left untouched:

    * triplet mode: row :math:`i` of :obj:`dst_neg_index` (shape ``[B, k]``,
      ``[B]`` when :math:`k = 1`) holds the negatives of positive :math:`i`,
      drawn by the sampler's :meth:`sample_negatives`.
      PyG reads the flat negatives positive-major without :obj:`disjoint`
      (negative :math:`j` belongs to positive :math:`\lfloor j / k
      \rfloor`) and amount-major with it (to positive :math:`j \bmod B`);
      the mixin writes them accordingly.
    * binary mode: the :math:`\lceil B \cdot \mathrm{amount} \rceil`
      negative pairs of :obj:`edge_label_index` are random filtered
      non-edges drawn by
      :meth:`~torch_geometric_negsamp.sampler.NegativeSampler.sample_pairs`.

    With :obj:`on_unsatisfiable="drop"`, the positives whose source has no
    valid negative are removed from the mini-batch (its :obj:`input_id`
    tells which remain). Any other :obj:`neg_sampling` is passed to PyG
    unchanged.

    Example:
        >>> class MySampler(SeedAwareSamplerMixin, NeighborSampler):
        ...     pass
    """

    def sample_from_edges(
        self,
        inputs: EdgeSamplerInput,
        neg_sampling: Optional[NegativeSampling] = None,
    ) -> Union[SamplerOutput, HeteroSamplerOutput]:
        if not isinstance(neg_sampling, NegativeSampler):
            return super().sample_from_edges(inputs, neg_sampling)
        inputs, stand_in = self._bind_negatives(inputs, neg_sampling)
        out = super().sample_from_edges(inputs, stand_in)
        stand_in.check_consumed()
        return out

    def _bind_negatives(
        self,
        inputs: EdgeSamplerInput,
        sampler: NegativeSampler,
    ) -> Tuple[EdgeSamplerInput, '_BatchNegativeSampling']:
        edge_type = inputs.input_type
        if getattr(self, 'node_time', None) is not None:
            raise NotImplementedError(
                f"'{sampler.__class__.__name__}' cannot be combined with "
                f'node-level temporal sampling: PyG re-draws negatives that '
                f'lie in the future of their positive without seeing the '
                f'positives, which would let false negatives back in'
            )
        index = sampler.index(edge_type)  # raises if not fitted
        num_nodes = self.num_nodes
        if isinstance(num_nodes, dict):
            num_src, num_dst = (
                num_nodes[edge_type[0]],
                num_nodes[edge_type[-1]],
            )
        else:
            num_src = num_dst = num_nodes
        if (index.num_src_nodes, index.num_dst_nodes) != (num_src, num_dst):
            raise ValueError(
                f"'{sampler.__class__.__name__}' was fitted on "
                f'{index.num_src_nodes} x {index.num_dst_nodes} nodes but the '
                f'graph being sampled has {num_src} x {num_dst}'
                f'{"" if edge_type is None else f" for {edge_type}"}; '
                f'fit it on the same graph'
            )

        if sampler.is_binary():
            num_neg = math.ceil(inputs.row.numel() * sampler.amount)
            src_neg, dst_neg = sampler.sample_pairs(
                num_neg, edge_type=edge_type
            )
            return inputs, _BatchNegativeSampling(
                sampler,
                src=src_neg.to(inputs.row.device),
                dst=dst_neg.to(inputs.col.device),
            )

        num_neg = int(sampler.amount)
        device = index.device
        neg, keep = sampler.sample_negatives(
            inputs.row.to(device),
            inputs.col.to(device),
            num_neg,
            edge_type=edge_type,
            return_mask=True,
        )
        neg = neg.to(inputs.col.device)
        if not bool(keep.all()):
            keep = keep.to(inputs.row.device)
            if not bool(keep.any()):
                raise UnsatisfiableError(
                    f'every positive of the mini-batch was dropped (all '
                    f'{keep.numel()} sources have no valid negative); the '
                    f'batch cannot be formed'
                )
            inputs = _select(inputs, keep)
        flat = _triplet_layout(neg, self.disjoint)
        return inputs, _BatchNegativeSampling(sampler, src=None, dst=flat)


def _triplet_layout(neg: Tensor, disjoint: bool) -> Tensor:
    r"""Flattens the ``[B, k]`` negatives in the order in which PyG's
    :func:`edge_sample` reads them back into :obj:`dst_neg_index`:
    ``flat.view(B, k)`` without :obj:`disjoint`, ``flat.view(k, B).t()``
    with it (and in temporal mode, which is always disjoint)."""
    return neg.t().reshape(-1) if disjoint else neg.reshape(-1)


def _select(inputs: EdgeSamplerInput, keep: Tensor) -> EdgeSamplerInput:
    r"""Keeps the positives of :obj:`inputs` where :obj:`keep` holds."""

    def take(value: Optional[Tensor]) -> Optional[Tensor]:
        return None if value is None else value[keep]

    return EdgeSamplerInput(
        input_id=take(inputs.input_id),
        row=inputs.row[keep],
        col=inputs.col[keep],
        label=take(inputs.label),
        time=take(inputs.time),
        input_type=inputs.input_type,
    )


class _BatchNegativeSampling(NegativeSampling):
    r"""The per-batch stand-in handed to PyG: its :meth:`sample` returns the
    negatives computed from the positives, once per endpoint, and checks
    that PyG asks for exactly as many as were computed."""

    def __init__(
        self, parent: NegativeSampler, src: Optional[Tensor], dst: Tensor
    ):
        super().__init__(parent.mode, parent.amount)
        self.parent_name = parent.__class__.__name__
        self._pending: Dict[str, Optional[Tensor]] = {'dst': dst}
        if src is not None:
            self._pending['src'] = src

    def sample(
        self, num_samples: int, endpoint: str, num_nodes: Optional[int] = None
    ) -> Tensor:
        out = self._pending.get(endpoint)
        if out is None:
            raise RuntimeError(
                f"PyG asked '{self.parent_name}' for {num_samples} "
                f"'{endpoint}' negatives that were not prepared (the "
                f"internal layout of 'torch_geometric.sampler."
                f"neighbor_sampler.edge_sample' has changed)"
            )
        if out.numel() != num_samples:
            raise RuntimeError(
                f"PyG asked '{self.parent_name}' for {num_samples} "
                f"'{endpoint}' negatives but {out.numel()} were prepared (the "
                f"internal layout of 'torch_geometric.sampler."
                f"neighbor_sampler.edge_sample' has changed)"
            )
        self._pending[endpoint] = None
        return out

    def check_consumed(self) -> None:
        left = [
            key for key, value in self._pending.items() if value is not None
        ]
        if left:
            raise RuntimeError(
                f"PyG never asked '{self.parent_name}' for the prepared "
                f'{left} negatives (the internal layout of '
                f"'torch_geometric.sampler.neighbor_sampler.edge_sample' "
                f'has changed)'
            )
