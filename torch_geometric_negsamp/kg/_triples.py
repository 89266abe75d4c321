r"""Knowledge-graph triples in the forms the package accepts, read into
``(head, relation, tail)`` tensors (types and shapes checked; ids are range
checked by the caller, which knows the entity and relation counts)."""

from typing import Any, List, NamedTuple, Optional, Tuple

from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_in_range,
    check_index_tensor,
    check_same_device,
)


class _Triples(NamedTuple):
    head: Tensor  # [E] long
    relation: Tensor  # [E] long
    tail: Tensor  # [E] long
    names: Tuple[str, str, str]  # what to call each part in a message


def _from_parts(parts, names) -> _Triples:
    for part, name in zip(parts, names):
        check_index_tensor(part, name, dim=1)
    size = parts[0].numel()
    for part, name in zip(parts[1:], names[1:]):
        if part.numel() != size:
            raise ValueError(
                f"'{name}' must have one entry per triple ({size}) "
                f'(got {part.numel()})'
            )
        check_same_device(part, name, parts[0].device, f"'{names[0]}'")
    return _Triples(*(part.long() for part in parts), names=tuple(names))


def read_triples(
    value: Any,
    relation: Optional[Tensor] = None,
    name: str = 'triples',
    relation_name: str = 'relation',
) -> _Triples:
    r"""Reads one set of triples given as a ``[3, E]`` tensor (rows head,
    relation, tail), a ``(head, relation, tail)`` sequence of ``[E]``
    tensors, an ``edge_index`` ``[2, E]`` (head, tail) with
    :obj:`relation` ``[E]``, or a :class:`~torch_geometric.data.Data` with
    :obj:`edge_index` and :obj:`edge_type` (PyG's knowledge-graph datasets
    store the relations there)."""
    from torch_geometric.data import Data

    if isinstance(value, Data):
        if relation is not None:
            raise ValueError(
                f"'{relation_name}' must be None when '{name}' is a Data "
                f"object (its 'edge_type' holds the relations) (got a "
                f'{type(relation).__name__})'
            )
        edge_index = getattr(value, 'edge_index', None)
        edge_type = getattr(value, 'edge_type', None)
        if edge_index is None or edge_type is None:
            raise ValueError(
                f"'{name}' must hold 'edge_index' (head, tail) and "
                f"'edge_type' (the relation of every triple) (got {value})"
            )
        check_index_tensor(edge_index, f'{name}.edge_index', dim=2, rows=2)
        return _from_parts(
            (edge_index[0], edge_type, edge_index[1]),
            (
                f'{name}.edge_index[0]',
                f'{name}.edge_type',
                f'{name}.edge_index[1]',
            ),
        )
    if isinstance(value, (tuple, list)):
        if relation is not None:
            raise ValueError(
                f"'{relation_name}' must be None when '{name}' is a "
                f'(head, relation, tail) sequence (got a '
                f'{type(relation).__name__})'
            )
        if len(value) != 3:
            raise ValueError(
                f"'{name}' must be a (head, relation, tail) sequence of "
                f'three tensors (got {len(value)} items)'
            )
        return _from_parts(value, [f'{name}[{i}]' for i in range(3)])
    check_index_tensor(value, name, dim=2)
    if relation is None:
        if value.size(0) == 2:
            raise ValueError(
                f"'{relation_name}' must be given with a [2, E] "
                f"edge_index in '{name}' (got None)"
            )
        check_index_tensor(value, name, rows=3)
        return _from_parts(value.unbind(0), [f'{name}[{i}]' for i in range(3)])
    check_index_tensor(value, name, rows=2)
    return _from_parts(
        (value[0], relation, value[1]),
        (f'{name}[0]', relation_name, f'{name}[1]'),
    )


def _is_one_set(value: Any) -> bool:
    if not isinstance(value, (tuple, list)):
        return True
    if not all(isinstance(v, Tensor) for v in value):
        return False
    dims = [v.dim() for v in value]
    return dims == [1, 1, 1] or dims == [2, 1]


def read_triple_sets(value: Any, name: str) -> List[_Triples]:
    r"""Reads :obj:`None`, one set of triples in any form of
    :func:`read_triples` (an ``(edge_index, relation)`` pair included), or
    a list of such sets."""
    if value is None:
        return []
    if _is_one_set(value):
        value = [value]
        names = [name]
    else:
        names = [f'{name}[{i}]' for i in range(len(value))]
    out = []
    for item, item_name in zip(value, names):
        if isinstance(item, (tuple, list)) and len(item) == 2:
            out.append(
                read_triples(
                    item[0], item[1], f'{item_name}[0]', f'{item_name}[1]'
                )
            )
        else:
            out.append(read_triples(item, None, item_name))
    return out


def check_triple_ids(
    triples: _Triples, num_entities: int, num_relations: int
) -> None:
    r"""Every entity id below :obj:`num_entities`, every relation id below
    :obj:`num_relations`."""
    head_name, relation_name, tail_name = triples.names
    for part, name in ((triples.head, head_name), (triples.tail, tail_name)):
        check_in_range(
            part, name, num_entities, what='entity id', unit='entities'
        )
    check_in_range(
        triples.relation,
        relation_name,
        num_relations,
        what='relation id',
        unit='relations',
    )
