r"""Fitting a sampler: the indices of known positives, per edge type."""

from typing import Dict, Optional, Sequence, Tuple, Union

from torch import Tensor
from torch_geometric.typing import EdgeType

from torch_geometric_negsamp._edge_types import (
    find_edge_type,
    resolve_edge_types,
    resolve_keyed,
)
from torch_geometric_negsamp._validate import (
    check_in_range,
    check_index_tensor,
    check_key_space,
    check_keys_known,
    check_num_nodes,
)
from torch_geometric_negsamp.index import PositiveIndex

Positives = Union[Tensor, Sequence[Tensor], Dict[EdgeType, Tensor]]
Key = Optional[EdgeType]


class FitMixin:
    r"""The fitting half of :class:`NegativeSampler`: builds one
    :class:`~torch_geometric_negsamp.PositiveIndex` per edge type (checked
    and complete before anything is assigned) and finds it again by any
    edge-type key PyG accepts. Needs :attr:`allow_self` and
    :attr:`undirected`."""

    def fit(
        self,
        data_or_edge_index,
        num_nodes: Optional[Union[int, Tuple[int, int]]] = None,
        *,
        edge_type: Optional[Union[EdgeType, Sequence[EdgeType]]] = None,
        extra_positives: Optional[Positives] = None,
    ) -> 'FitMixin':
        r"""Builds the index of known positives and returns :obj:`self`.

        Args:
            data_or_edge_index: A :class:`~torch_geometric.data.Data`, a
                :class:`~torch_geometric.data.HeteroData`, or an
                :obj:`edge_index` of shape ``[2, E]``.
            num_nodes (int or (int, int), optional): With an
                :obj:`edge_index`: the number of nodes (inferred as the
                largest id plus one if not given), or the numbers of source
                and destination nodes of a bipartite graph.
            edge_type (tuple or list of tuples, optional): With a
                :class:`~torch_geometric.data.HeteroData`: the edge type(s)
                to index, in any form PyG accepts (default: all of them).
            extra_positives (torch.Tensor or list or dict, optional): Further
                positives no negative may hit (e.g. validation and test
                edges); a dict keyed by edge type for heterogeneous data
                (the ``(src, dst)`` shorthand accepted, an unknown key an
                error).
        """
        from torch_geometric.data import Data, HeteroData

        parts: Dict[Key, Tuple[Tensor, PositiveIndex]] = {}
        if isinstance(data_or_edge_index, HeteroData):
            data = data_or_edge_index
            if num_nodes is not None:
                raise ValueError(
                    "'num_nodes' is read from the HeteroData; do not pass it "
                    f'(got {num_nodes!r})'
                )
            edge_types = resolve_edge_types(data, edge_type)
            extra = resolve_keyed(data, extra_positives, 'extra_positives')
            check_keys_known(
                extra, 'extra_positives', edge_types, 'fitted edge type'
            )
            for et in edge_types:
                src_t, _, dst_t = et
                edge_index = data[et].edge_index
                index = self._make_index(
                    edge_index,
                    data[src_t].num_nodes,
                    data[dst_t].num_nodes,
                    homogeneous=src_t == dst_t,
                    extra=extra.get(et),
                )
                parts[et] = (edge_index, index)
        else:
            if edge_type is not None:
                raise ValueError(
                    "'edge_type' applies to HeteroData only "
                    f'(got {edge_type!r})'
                )
            if isinstance(data_or_edge_index, Data):
                edge_index = data_or_edge_index.edge_index
                if num_nodes is None:
                    num_nodes = data_or_edge_index.num_nodes
            else:
                edge_index = data_or_edge_index
            check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
            if num_nodes is None:
                check_in_range(edge_index, 'edge_index', 2**53)
                num_nodes = (
                    int(edge_index.max()) + 1 if edge_index.numel() > 0 else 1
                )
            if isinstance(extra_positives, dict):
                raise TypeError(
                    "'extra_positives' must be a tensor or a list of tensors "
                    'for a homogeneous or bipartite graph (got dict)'
                )
            if isinstance(num_nodes, (tuple, list)):
                if len(num_nodes) != 2:
                    raise ValueError(
                        "'num_nodes' must be an int or a pair "
                        f'(got {num_nodes!r})'
                    )
                num_src = check_num_nodes(num_nodes[0], 'num_nodes[0]')
                num_dst = check_num_nodes(num_nodes[1], 'num_nodes[1]')
                homogeneous = False
            else:
                num_src = num_dst = check_num_nodes(num_nodes, 'num_nodes')
                homogeneous = True
            check_key_space(num_src, num_dst, 'num_nodes')
            index = self._make_index(
                edge_index, num_src, num_dst, homogeneous, extra_positives
            )
            parts[None] = (edge_index, index)
        state = {
            key: self._fit_state(key, edge_index.to(index.device), index)
            for key, (edge_index, index) in parts.items()
        }
        # Assigned only once everything was checked and built:
        self._indices = {key: index for key, (_, index) in parts.items()}
        self._pair_src_units = {}
        self._set_fit_state(state)
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

    def _fit_state(self, key: Key, edge_index: Tensor, index: PositiveIndex):
        r"""Subclass hook: the state a subclass derives from one fitted edge
        type (checked and computed before anything is assigned)."""
        return None

    def _set_fit_state(self, state: Dict[Key, object]) -> None:
        r"""Subclass hook: stores what :meth:`_fit_state` returned."""

    @property
    def is_fitted(self) -> bool:
        return len(self._indices) > 0

    def index(self, edge_type: Key = None) -> PositiveIndex:
        r"""Returns the :class:`PositiveIndex` of :obj:`edge_type`."""
        return self._indices[self._key(edge_type)]

    def _key(self, edge_type: Key) -> Key:
        if not self._indices:
            raise RuntimeError(
                f"'{self.__class__.__name__}' has no index of positives yet; "
                f"call 'fit(data)' first"
            )
        if edge_type in self._indices:
            return edge_type
        if edge_type is None and len(self._indices) == 1:
            return next(iter(self._indices))
        if edge_type is not None:
            found = find_edge_type([k for k in self._indices if k], edge_type)
            if found is not None:
                return found
        raise ValueError(
            f"'edge_type' {edge_type!r} was not fitted "
            f'(fitted: {list(self._indices)})'
        )

    def to(self, device) -> 'FitMixin':
        r"""Moves the index (and sampler state) to :obj:`device`."""
        for index in self._indices.values():
            index.to(device)
        self._pair_src_units = {
            key: value.to(device)
            for key, value in self._pair_src_units.items()
        }
        self._move_state(device)
        return self

    def _move_state(self, device) -> None:
        pass

    def share_memory_(self) -> 'FitMixin':
        r"""Moves the index of positives to shared memory, so that
        :class:`~torch.utils.data.DataLoader` workers read one copy instead
        of each receiving its own."""
        for index in self._indices.values():
            index.share_memory_()
        return self
