r"""Popularity (degree) weighted negative sampling."""

from typing import Dict, Optional, Union

import torch
from torch import Tensor
from torch_geometric.typing import EdgeType

from torch_geometric_negsamp._edge_types import resolve_keyed
from torch_geometric_negsamp._random import (
    quantize_log_weights,
    quantize_weights,
)
from torch_geometric_negsamp._validate import (
    check_float_tensor,
    check_keys_known,
    check_real,
    check_tensor,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.sampler.weighted import WeightedSampler


def _check_weight(value, name: str) -> Tensor:
    check_tensor(value, name)
    if value.dim() != 1:
        raise ValueError(
            f"'{name}' must be a 1-D tensor (got shape {list(value.shape)})"
        )
    if not value.is_floating_point():
        value = value.double()
    check_float_tensor(value, name)
    if bool((value < 0).any()):
        raise ValueError(f"'{name}' must be non-negative")
    if not bool((value > 0).any()):
        raise ValueError(
            f"'{name}' must have a positive entry (got all zeros)"
        )
    return value


class PopularitySampler(WeightedSampler):
    r"""Draws negative destinations proportionally to their popularity
    raised to a power, as in word2vec (Mikolov et al., 2013) and most
    recommender baselines:

    .. math::
        P(v \mid u) \propto \deg(v)^{\alpha} \,
        \mathbb{1}[(u, v) \notin \mathcal{E}],

    where :math:`\deg(v)` is the in-degree of :math:`v` among the fitted
    positives (plus the out-degree when :obj:`undirected=True`); or
    proportionally to any non-negative :obj:`weight` vector. Destinations of
    weight zero (e.g. degree zero) are never drawn.

    The weights are computed in log space and held as exact integer units
    (see :class:`~torch_geometric_negsamp.sampler.WeightedSampler`), so any
    :math:`\alpha` and any finite weights are safe: only their ratios
    matter, and a weight below :math:`2^{-1074}` of the largest counts as
    zero. Filtered draws follow the filtered distribution exactly and are
    never short.

    Args:
        mode, amount: As in
            :class:`~torch_geometric_negsamp.sampler.NegativeSampler`.
        alpha (float, optional): The exponent :math:`\alpha \ge 0`.
            (default: :obj:`0.75`)
        weight (torch.Tensor or dict, optional): A non-negative, finite
            weight per destination node, used instead of
            :math:`\deg^{\alpha}`; a dict keyed by edge type (any form PyG
            accepts) for heterogeneous data. (default: :obj:`None`)
        **kwargs: Options of
            :class:`~torch_geometric_negsamp.sampler.NegativeSampler`.
    """

    def __init__(
        self,
        mode: str = 'triplet',
        amount: Union[int, float] = 1,
        *,
        alpha: float = 0.75,
        weight: Optional[Union[Tensor, Dict[EdgeType, Tensor]]] = None,
        **kwargs,
    ):
        super().__init__(mode, amount, **kwargs)
        self.alpha = check_real(alpha, 'alpha', minimum=0.0)
        if isinstance(weight, dict):
            weight = {
                key: _check_weight(w, f'weight[{key!r}]')
                for key, w in weight.items()
            }
        elif weight is not None:
            weight = _check_weight(weight, 'weight')
        self.weight = weight
        self._resolved_weight: Dict[EdgeType, Tensor] = {}
        self._keys_fitting = []

    def _given_weight(self, key, index: PositiveIndex) -> Optional[Tensor]:
        if self.weight is None:
            return None
        if isinstance(self.weight, dict):
            if key is None:
                raise TypeError(
                    "'weight' must be a tensor for a homogeneous or "
                    'bipartite graph (got dict)'
                )
            return self._resolved_weight.get(key)
        if key is not None and len(self._keys_fitting) > 1:
            raise TypeError(
                "'weight' must be a dict keyed by edge type when several "
                'edge types are fitted (got a tensor)'
            )
        return self.weight

    def fit(self, data_or_edge_index, num_nodes=None, **kwargs):
        from torch_geometric.data import HeteroData

        self._resolved_weight = {}
        self._keys_fitting = []
        if isinstance(data_or_edge_index, HeteroData):
            from torch_geometric_negsamp._edge_types import (
                resolve_edge_types,
            )

            self._keys_fitting = resolve_edge_types(
                data_or_edge_index, kwargs.get('edge_type')
            )
            if isinstance(self.weight, dict):
                self._resolved_weight = resolve_keyed(
                    data_or_edge_index, self.weight, 'weight'
                )
                check_keys_known(
                    self._resolved_weight,
                    'weight',
                    self._keys_fitting,
                    'fitted edge type',
                )
        return super().fit(data_or_edge_index, num_nodes, **kwargs)

    def _units(self, key, edge_index: Tensor, index: PositiveIndex) -> Tensor:
        given = self._given_weight(key, index)
        if given is not None:
            if given.numel() != index.num_dst_nodes:
                raise ValueError(
                    f"'weight' must have one entry per destination node "
                    f'({index.num_dst_nodes}) (got {given.numel()})'
                )
            return quantize_weights(given.to(index.device), 'weight')
        edge_index = edge_index.long()
        deg = torch.bincount(edge_index[1], minlength=index.num_dst_nodes)
        if index.undirected:
            deg = deg + torch.bincount(
                edge_index[0], minlength=index.num_dst_nodes
            )
        if not bool((deg > 0).any()):
            raise ValueError(
                'the fitted graph has no edge, so no destination has a '
                'positive popularity'
            )
        # deg ** alpha in log space: it cannot overflow whatever alpha is,
        # and degree zero stays weight zero (0 ** 0 == 1 would revive it).
        log_w = self.alpha * torch.log(deg.double())
        log_w = log_w.masked_fill(deg == 0, float('-inf'))
        return quantize_log_weights(log_w, 'deg ** alpha')

    def _static_dst(self, num_samples, num_nodes, gen):
        if not self._weights and self.weight is not None:
            # PyG's static hook before fit: the given weights alone.
            given = self.weight
            given = given.values() if isinstance(given, dict) else [given]
            cdfs = [
                quantize_weights(w.cpu(), 'weight').cumsum(0) for w in given
            ]
            return self._draw_static(cdfs, num_samples, num_nodes, gen)
        return super()._static_dst(num_samples, num_nodes, gen)

    def _extra_repr(self) -> str:
        if self.weight is None:
            return f'alpha={self.alpha}'
        return 'weight=<given>'
