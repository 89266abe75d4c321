r"""Edge types and edge-type-keyed arguments: the one home of their
canonicalisation.

A heterogeneous argument may name an edge type as PyG lets one name it: the
full ``(src, rel, dst)`` triple, the ``(src, dst)`` shorthand when one
relation joins the two node types, or a relation name that occurs once. Each
is resolved against the data exactly as
:meth:`torch_geometric.data.HeteroData._to_canonical` does; a key that names
no edge type of the data is an error, never silently ignored.
"""

from typing import (
    Any,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from torch import Tensor
from torch_geometric.data import Data, HeteroData
from torch_geometric.typing import EdgeType, InputEdges

from torch_geometric_negsamp._validate import (
    check_edge_ids,
    check_index_tensor,
    check_instance,
)

V = TypeVar('V')


def edge_types_of(data_or_edge_types: Any) -> List[EdgeType]:
    r"""The edge types of a :class:`~torch_geometric.data.HeteroData` (or a
    list of edge types, returned as a list)."""
    edge_types = getattr(data_or_edge_types, 'edge_types', data_or_edge_types)
    return [tuple(et) for et in edge_types]


def is_edge_type(key: Any) -> bool:
    return (
        isinstance(key, tuple)
        and len(key) == 3
        and all(isinstance(part, str) for part in key)
    )


def find_edge_type(
    edge_types: Sequence[EdgeType], key: Any
) -> Optional[EdgeType]:
    r"""The edge type among :obj:`edge_types` that :obj:`key` names, or
    :obj:`None` (mirrors :meth:`HeteroData._to_canonical`, PyG 2.8)."""
    if isinstance(key, str):
        match = [et for et in edge_types if et[1] == key]
        return match[0] if len(match) == 1 else None
    if isinstance(key, (tuple, list)) and all(isinstance(p, str) for p in key):
        key = tuple(key)
        if len(key) == 3:
            return key if key in edge_types else None
        if len(key) == 2:
            match = [
                et for et in edge_types if et[0] == key[0] and et[2] == key[1]
            ]
            return match[0] if len(match) == 1 else None
    return None


def canonical_edge_type(
    data_or_edge_types: Any, key: Any, name: str = 'edge_type'
) -> EdgeType:
    r"""The ``(src, rel, dst)`` edge type of the data that :obj:`key`
    names; raises :class:`ValueError` naming :obj:`name` otherwise."""
    edge_types = edge_types_of(data_or_edge_types)
    out = find_edge_type(edge_types, key)
    if out is None:
        if not isinstance(key, (str, tuple, list)):
            raise TypeError(
                f"'{name}' must name an edge type as a (src, rel, dst) or "
                f'(src, dst) tuple or a relation name '
                f'(got {type(key).__name__})'
            )
        raise ValueError(
            f"'{name}' {key!r} names no single edge type of the data "
            f'(edge types: {edge_types})'
        )
    return out


def edge_store(
    data: Any, edge_type: Any = None, name: str = 'edge_type'
) -> Tuple[Optional[EdgeType], Any, int, int]:
    r"""The edges to work on, as ``(edge_type, store, num_src, num_dst)``:
    a :class:`~torch_geometric.data.Data` itself (edge type :obj:`None`,
    both counts its :obj:`num_nodes`), or the edge type of a
    :class:`~torch_geometric.data.HeteroData` that :obj:`edge_type` names
    (required there; any form PyG accepts) with its node types' counts."""
    from torch_geometric.data import Data, HeteroData

    if isinstance(data, HeteroData):
        if edge_type is None:
            raise ValueError(
                f"'{name}' must be given for HeteroData (got None)"
            )
        edge_type = canonical_edge_type(data, edge_type, name)
        src, _, dst = edge_type
        num_src, num_dst = data[src].num_nodes, data[dst].num_nodes
        return edge_type, data[edge_type], num_src, num_dst
    check_instance(data, 'data', Data, what='Data or HeteroData')
    return None, data, data.num_nodes, data.num_nodes


def resolve_edge_types(
    data_or_edge_types: Any, edge_type: Any = None, name: str = 'edge_type'
) -> List[EdgeType]:
    r"""The edge types that :obj:`edge_type` selects: all of them for
    :obj:`None`, one for a single key, several for a list of keys."""
    if edge_type is None:
        return edge_types_of(data_or_edge_types)
    single = isinstance(edge_type, str) or (
        isinstance(edge_type, tuple)
        and all(isinstance(p, str) for p in edge_type)
    )
    keys = [edge_type] if single else list(edge_type)
    return [canonical_edge_type(data_or_edge_types, key, name) for key in keys]


def resolve_keyed(
    data_or_edge_types: Any,
    mapping: Optional[Mapping[Any, V]],
    name: str,
) -> Dict[EdgeType, V]:
    r""":obj:`mapping` with every key resolved to its canonical edge type;
    a key naming no edge type, or two keys naming the same one, is a
    :class:`ValueError` naming :obj:`name`."""
    if mapping is None:
        return {}
    check_instance(
        mapping, name, Mapping, what='a dict keyed by edge type for HeteroData'
    )
    out: Dict[EdgeType, V] = {}
    for key, value in mapping.items():
        et = canonical_edge_type(data_or_edge_types, key, f'{name}[{key!r}]')
        if et in out:
            raise ValueError(
                f"'{name}' names edge type {et} twice (once as {key!r})"
            )
        out[et] = value
    return out


# ------------------------------------------- the edges of one edge type
def check_edge_index(
    value: Any, name: str, num_src_nodes: int, num_dst_nodes: int
) -> Tensor:
    r"""A ``[2, E]`` integer tensor of (source, destination) node ids, row
    0 in ``[0, num_src_nodes)`` and row 1 in ``[0, num_dst_nodes)`` (see
    :func:`~torch_geometric_negsamp._validate.check_edge_ids`); returned as
    :obj:`long`."""
    check_index_tensor(value, name, dim=2, rows=2)
    check_edge_ids(value, name, num_src_nodes, num_dst_nodes)
    return value.long()


def check_edge_list(
    value: Any, name: str, num_src_nodes: int, num_dst_nodes: int
) -> List[Tensor]:
    r"""A tensor or a list of tensors of edges, each checked by
    :func:`check_edge_index` (named ``name[i]`` in a list); returned as a
    list of :obj:`long` tensors."""
    if isinstance(value, Tensor):
        return [check_edge_index(value, name, num_src_nodes, num_dst_nodes)]
    check_instance(
        value, name, (list, tuple), what='a tensor or a list of tensors'
    )
    return [
        check_edge_index(v, f'{name}[{i}]', num_src_nodes, num_dst_nodes)
        for i, v in enumerate(value)
    ]


def typed_positives(
    value: Any, name: str, data: Any, edge_type
) -> List[Tensor]:
    r"""Further positives of one edge type, as a list of :obj:`long`
    tensors checked by :func:`check_edge_list`.

    For a :class:`~torch_geometric.data.HeteroData` with :obj:`edge_type`,
    :obj:`value` may be a dict keyed by edge type, its keys resolved as PyG
    resolves them (the ``(src, dst)`` shorthand included); a key of no edge
    type of the data, or of another type than :obj:`edge_type`, is an
    error. Otherwise it is a tensor or a list of tensors of
    :obj:`edge_type` (of the graph's nodes when :obj:`edge_type` is
    :obj:`None`)."""
    if value is None:
        return []
    if edge_type is None:
        if isinstance(value, dict):
            raise TypeError(
                f"'{name}' must be a tensor or a list of tensors for a "
                f'homogeneous graph (got dict)'
            )
        return check_edge_list(value, name, data.num_nodes, data.num_nodes)
    if isinstance(value, dict):
        keyed = resolve_keyed(data, value, name)
        others = [et for et in keyed if et != tuple(edge_type)]
        if others:
            raise ValueError(
                f"'{name}' holds edge type(s) {others}, but only "
                f'{tuple(edge_type)} is sampled'
            )
        value = keyed.get(tuple(edge_type), [])
        name = f'{name}[{tuple(edge_type)!r}]'
    src_type, _, dst_type = edge_type
    return check_edge_list(
        value, name, data[src_type].num_nodes, data[dst_type].num_nodes
    )


def is_typed_edge_index(edge_label_index) -> bool:
    r"""Whether :obj:`edge_label_index` is an ``(edge_type, tensor)`` pair
    (rather than an edge type)."""
    return (
        isinstance(edge_label_index, (tuple, list))
        and len(edge_label_index) == 2
        and not isinstance(edge_label_index[0], str)
    )


def label_edges(
    data: Union[Data, HeteroData], edge_label_index: InputEdges
) -> Tuple[Optional[EdgeType], Tensor]:
    r"""Checks a loader's :obj:`edge_label_index` (as
    :class:`torch_geometric.loader.LinkNeighborLoader` takes it) and returns
    its edge type (:obj:`None` for homogeneous data) and its ``[2, P]``
    positives."""
    if isinstance(data, Data):
        if edge_label_index is None:
            return None, data.edge_index
        num_nodes = data.num_nodes
        return None, check_edge_index(
            edge_label_index, 'edge_label_index', num_nodes, num_nodes
        )
    if edge_label_index is None:
        raise ValueError(
            "'edge_label_index' must name the edge type of the positives "
            'for HeteroData, alone or as (edge_type, edge_index) (got None)'
        )
    if not isinstance(edge_label_index, (tuple, list)):
        raise TypeError(
            "'edge_label_index' must be an edge type or an (edge_type, "
            f'edge_index) pair for HeteroData (got '
            f'{type(edge_label_index).__name__})'
        )
    if not is_typed_edge_index(edge_label_index):
        edge_type = canonical_edge_type(
            data, tuple(edge_label_index), 'edge_label_index'
        )
        return edge_type, data[edge_type].edge_index
    edge_type = canonical_edge_type(
        data, edge_label_index[0], 'edge_label_index[0]'
    )
    value = edge_label_index[1]
    if value is None:
        return edge_type, data[edge_type].edge_index
    src_type, _, dst_type = edge_type
    return edge_type, check_edge_index(
        value,
        'edge_label_index',
        data[src_type].num_nodes,
        data[dst_type].num_nodes,
    )
