r"""Popularity (degree) weighted negative sampling."""

from typing import Dict, Optional, Union

import torch
from torch import Tensor
from torch_geometric.typing import EdgeType

from torch_geometric_negsamp._random import uniform
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.sampler.base import (
    NegativeSampler,
    _draw_weighted,
)


class PopularitySampler(NegativeSampler):
    r"""Draws negative destinations proportionally to their popularity
    raised to a power, as in word2vec (Mikolov et al., 2013) and most
    recommender baselines:

    .. math::
        P(v \mid u) \propto \deg(v)^{\alpha} \,
        \mathbb{1}[(u, v) \notin \mathcal{E}],

    where :math:`\deg(v)` is the in-degree of :math:`v` among the fitted
    positives; or proportionally to any non-negative :obj:`weight` vector.
    Destinations of weight zero (e.g. degree zero) are never drawn.

    Filtered draws use rejection for :obj:`max_trials` rounds and then draw
    the remainder exactly from the source's renormalised distribution, so the
    output follows the filtered distribution exactly and is never short.

    Args:
        mode (str, optional): :obj:`"triplet"` or :obj:`"binary"`.
            (default: :obj:`"triplet"`)
        amount (int or float, optional): Negatives per positive.
            (default: :obj:`1`)
        alpha (float, optional): The exponent :math:`\alpha`.
            (default: :obj:`0.75`)
        weight (torch.Tensor or dict, optional): A non-negative weight per
            destination node, used instead of :math:`\deg^{\alpha}`; a dict
            keyed by edge type for heterogeneous data.
            (default: :obj:`None`)
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
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise TypeError(
                f"'alpha' must be a number (got {type(alpha).__name__})"
            )
        if alpha < 0:
            raise ValueError(f"'alpha' must be non-negative (got {alpha})")
        weights = weight if isinstance(weight, dict) else {None: weight}
        for w in weights.values():
            if w is None:
                continue
            if not isinstance(w, Tensor) or w.dim() != 1:
                got = type(w).__name__
                if isinstance(w, Tensor):
                    got += f' of shape {tuple(w.shape)}'
                raise TypeError(f"'weight' must be a 1-D tensor (got {got})")
            if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
                raise ValueError("'weight' must be finite and non-negative")
            if not bool((w > 0).any()):
                raise ValueError(
                    "'weight' must have a positive entry (got all zeros)"
                )
        self.alpha = float(alpha)
        self.weight = weight
        if isinstance(weight, Tensor):
            self.dst_weight = weight  # PyG's static hook draws from it
        self._cdf: Dict[Optional[EdgeType], Tensor] = {}
        self._weight: Dict[Optional[EdgeType], Tensor] = {}
        self._num_valid: Dict[Optional[EdgeType], Tensor] = {}

    def fit(
        self,
        data_or_edge_index,
        num_nodes=None,
        *,
        edge_type=None,
        extra_positives=None,
    ) -> 'PopularitySampler':
        super().fit(
            data_or_edge_index,
            num_nodes,
            edge_type=edge_type,
            extra_positives=extra_positives,
        )
        from torch_geometric.data import Data, HeteroData

        self._cdf, self._weight, self._num_valid = {}, {}, {}
        for et, index in self._indices.items():
            if isinstance(data_or_edge_index, HeteroData):
                edge_index = data_or_edge_index[et].edge_index
            elif isinstance(data_or_edge_index, Data):
                edge_index = data_or_edge_index.edge_index
            else:
                edge_index = data_or_edge_index
            self._set_weight(et, index, edge_index.to(index.device))
        if len(self._weight) == 1 and None in self._weight:
            self.dst_weight = self._weight[None]  # PyG's static hook
        return self

    def _set_weight(self, et, index: PositiveIndex, edge_index: Tensor):
        given = (
            self.weight.get(et)
            if isinstance(self.weight, dict)
            else self.weight
        )
        if given is not None:
            if given.numel() != index.num_dst_nodes:
                raise ValueError(
                    f"'weight' must have one entry per destination node "
                    f'({index.num_dst_nodes}) (got {given.numel()})'
                )
            weight = given.to(index.device, torch.float64)
        else:
            deg = torch.bincount(edge_index[1], minlength=index.num_dst_nodes)
            if index.undirected:
                deg = deg + torch.bincount(
                    edge_index[0], minlength=index.num_dst_nodes
                )
            weight = deg.double().pow(self.alpha)
            weight[deg == 0] = 0.0  # 0 ** 0 == 1 would revive them
            if not bool((weight > 0).any()):
                raise ValueError(
                    'the fitted graph has no edge, so no '
                    'destination has a positive popularity'
                )
        self._weight[et] = weight
        self._cdf[et] = weight.cumsum(0)
        # Exact feasibility: how many positive-weight destinations remain
        # for each source once its positives are removed.
        src, dst = index.edges()
        blocked = torch.bincount(
            src,
            weights=(weight[dst] > 0).double(),
            minlength=index.num_src_nodes,
        )
        self._num_valid[et] = int((weight > 0).sum()) - blocked.long()

    def _key(self, edge_type):
        if edge_type in self._weight:
            return edge_type
        return next(iter(self._weight))

    def _propose(
        self,
        src: Optional[Tensor],
        num: int,
        index: PositiveIndex,
        edge_type,
        generator,
    ) -> Tensor:
        cdf = self._cdf[self._key(edge_type)]
        u = uniform(num, cdf.device, generator, torch.float64) * cdf[-1]
        return torch.searchsorted(cdf, u, right=True).clamp_(
            max=cdf.numel() - 1
        )

    def _valid_mass(
        self, src: Tensor, index: PositiveIndex, edge_type
    ) -> Tensor:
        return self._num_valid[self._key(edge_type)][src].to(torch.float)

    def _dense_weight(self, index: PositiveIndex, edge_type) -> Tensor:
        return self._weight[self._key(edge_type)]

    def _move_state(self, device):
        for store in (self._cdf, self._weight, self._num_valid):
            for key in store:
                store[key] = store[key].to(device)
        if self.dst_weight is not None:
            self.dst_weight = self.dst_weight.to(device)

    def _static_dst(self, num_samples, num_nodes, generator):
        weights = list(self._weight.values())
        if not weights:
            given = (
                self.weight.values()
                if isinstance(self.weight, dict)
                else [self.weight]
            )
            weights = [w for w in given if w is not None]
        if not weights:
            raise RuntimeError(
                f"'{self.__class__.__name__}' needs 'fit(data)' or "
                f"'weight=' before it can draw popularity-weighted nodes"
            )
        # PyG's hook does not say which edge type it samples for: use the
        # weight vector of that many destination nodes, if there is one.
        match = [
            w for w in weights if num_nodes is None or w.numel() == num_nodes
        ]
        if (
            len({w.numel() for w in match}) != 1
            or len(match) > 1
            and any(not torch.equal(match[0], w) for w in match[1:])
        ):
            raise ValueError(
                f"'{self.__class__.__name__}.sample' cannot tell which "
                f'popularity vector applies to {num_nodes} destination '
                f'nodes; use torch_geometric_negsamp.loader.'
                f'LinkNeighborLoader, which passes the edge type'
            )
        return _draw_weighted(match[0].cpu(), num_samples, generator)

    def _extra_repr(self) -> str:
        return (
            f'alpha={self.alpha}' if self.weight is None else 'weight=<given>'
        )
