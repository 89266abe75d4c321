r"""Argument handling shared by the drop-in negative sampling functions:
sizes, counts and the prebuilt index, checked through
:mod:`torch_geometric_negsamp._validate` before anything is drawn."""

import math
import warnings
from typing import Optional, Tuple, Union

from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_bool,
    check_choice,
    check_edge_ids,
    check_generator,
    check_index_tensor,
    check_instance,
    check_int,
    check_key_space,
    check_node_counts,
    check_real,
    check_request_size,
    check_same_device,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.utils._keys import BIPARTITE, UNDIRECTED

NumNodes = Optional[Union[int, Tuple[int, int]]]
NumNeg = Optional[Union[int, float]]

#: More pairs than any key space holds (pair keys stay below 2**62): a
#: request that overflows a float reads as this many.
UNBOUNDED = 2**62


# ------------------------------------------------------- argument handling
def check_common(
    edge_index: Tensor, num_neg: NumNeg, method: str, undirected, generator
) -> NumNeg:
    check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
    check_choice(method, 'method', ('sparse', 'dense'))
    check_bool(undirected, 'force_undirected')
    check_generator(generator)
    # PyG's rule: None is one per edge, a float a ratio of the edges:
    if num_neg is None:
        return None
    if isinstance(num_neg, float):
        return check_real(num_neg, 'num_neg_samples', minimum=0.0)
    return check_int(num_neg, 'num_neg_samples', minimum=0)


def num_requested(value: NumNeg, num_edges: int) -> int:
    if value is None:
        return num_edges
    if isinstance(value, float):  # truncated, as PyG
        num = value * num_edges
        return int(num) if math.isfinite(num) else UNBOUNDED
    return value


def resolve_sizes(
    edge_index: Tensor, num_nodes: NumNodes, index: Optional[PositiveIndex]
) -> Tuple[int, int, bool]:
    r"""Returns ``(num_src, num_dst, bipartite)`` and checks the ids of
    :obj:`edge_index` (unless a prebuilt :obj:`index` gives the sizes: the
    ids are then not read)."""
    if num_nodes is None and index is not None:
        num_src, num_dst = index.num_src_nodes, index.num_dst_nodes
        return num_src, num_dst, num_src != num_dst
    if num_nodes is None:
        # As torch_geometric.utils.num_nodes.maybe_num_nodes, except that a
        # negative id is refused (it would be read as another pair):
        num = max(check_edge_ids(edge_index, 'edge_index'))
        check_key_space(num, num, 'num_nodes')
        return num, num, False
    bipartite, num_src, num_dst = check_node_counts(num_nodes, minimum=0)
    check_key_space(num_src, num_dst, 'num_nodes')
    if index is None:
        check_edge_ids(edge_index, 'edge_index', num_src, num_dst)
    elif (index.num_src_nodes, index.num_dst_nodes) != (num_src, num_dst):
        raise ValueError(
            f"'index' was built for {index.num_src_nodes} x "
            f"{index.num_dst_nodes} nodes but 'num_nodes' gives "
            f'{num_src} x {num_dst}'
        )
    return num_src, num_dst, bipartite


def check_index(index, edge_index: Tensor) -> Optional[PositiveIndex]:
    check_instance(index, 'index', PositiveIndex, optional=True)
    if index is not None:
        check_same_device(edge_index, 'edge_index', index.device, "'index'")
    return index


def check_index_kind(index: PositiveIndex, kind: str) -> None:
    r"""The index's positive set must match the pairs the call may return:
    loops counted as positives exactly where PyG excludes them, and
    symmetric positives when pairs are unordered."""
    if kind == BIPARTITE:
        if index.exclude_self or index.undirected:
            raise ValueError(
                "a bipartite 'num_nodes' needs an 'index' built with "
                f'exclude_self=False and undirected=False (got {index!r})'
            )
        return
    if not index.exclude_self:
        raise ValueError(
            "a homogeneous graph needs an 'index' built with "
            'exclude_self=True, as no self-loop may be returned (got '
            f'{index!r})'
        )
    if kind == UNDIRECTED and not index.undirected:
        raise ValueError(
            "'force_undirected=True' needs an 'index' built with "
            f'undirected=True (got {index!r})'
        )


def check_pairs_fit(pairs: int, kind: str, device) -> None:
    r"""Refuses an output of :obj:`pairs` negatives (each returned twice
    when unordered) that cannot fit, before anything is drawn."""
    entries = 2 * pairs * (2 if kind == UNDIRECTED else 1)
    check_request_size(entries, 'num_neg_samples', device=device)


def warn_short(
    func: str, requested: int, available: int, where: str = ''
) -> None:
    warnings.warn(
        f"'{func}' was asked for {requested} negative pair(s){where} but "
        f'only {available} non-edge(s) exist; returning all {available}',
        UserWarning,
        stacklevel=3,
    )
