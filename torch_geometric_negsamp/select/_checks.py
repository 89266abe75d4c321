r"""The checks particular to selectors (scores ``[B, M]``, ``k <= M``),
built on :mod:`torch_geometric_negsamp._validate`."""

from typing import Any

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_float_tensor,
    check_in_range,
    check_index_tensor,
    check_instance,
    check_positive_int,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.sampler.base import NegativeSampler


def check_scores(
    scores: Any, name: str = 'scores', finite: bool = True
) -> Tensor:
    r"""Floating-point scores ``[B, M]`` of a non-empty candidate pool
    (:math:`M \geq 1`), finite unless :obj:`finite=False` (a caller that
    checks the values later, after its other arguments' shapes)."""
    check_float_tensor(scores, name, dim=2, finite=False)
    check_pool(scores, name, 1)
    return check_float_tensor(scores, name, finite=finite)


def check_pool(
    value: Tensor, name: str, dim: int, what: str = 'candidate pool'
) -> None:
    r"""Dimension :obj:`dim` of :obj:`value`, the pool (:obj:`what`), is
    not empty (:math:`M \geq 1`)."""
    if value.size(dim) == 0:
        raise ValueError(
            f"'{name}' holds an empty {what} (got shape "
            f'{list(value.shape)}, M = 0)'
        )


def check_pool_embeddings(
    value: Any, name: str, user_emb: Tensor, what: str = 'candidate pool'
) -> Tensor:
    r"""Floating-point embeddings ``[B, M, d]`` of a non-empty pool
    (:obj:`what`) for the ``[B, d]`` users :obj:`user_emb`; values are not
    looked at."""
    check_float_tensor(value, name, dim=3, finite=False)
    B, d = user_emb.shape
    if value.size(0) != B or value.size(2) != d:
        raise ValueError(
            f"'{name}' must have shape [{B}, M, {d}] (got {list(value.shape)})"
        )
    check_pool(value, name, 1, what)
    return value


def check_k_fits(k: int, num_candidates: int, name: str = 'k') -> None:
    r""":math:`k` selections fit in a pool of :obj:`num_candidates`."""
    if k > num_candidates:
        raise ValueError(
            f"'{name}' ({k}) cannot exceed the number of candidates M "
            f'(got M = {num_candidates})'
        )


def check_negative_rows(
    value: Any, name: str, index: PositiveIndex, num_sources: int
) -> Tensor:
    r"""Per-source rows of negatives ``[num_sources, N]`` (e.g. a loaded
    cache or pool): integer ids of destinations in range, none a known
    positive of its row's source (row :math:`u` belongs to source
    :math:`u`). Returned as :obj:`long` on the index's device."""
    rows = check_index_tensor(value, name, dim=2, rows=num_sources)
    rows = rows.to(index.device).long()
    check_in_range(
        rows, name, index.num_dst_nodes, what='item id', unit='items'
    )
    src = torch.arange(num_sources, device=index.device)
    hit = index.contains_unchecked(src.view(-1, 1), rows)
    if bool(hit.any()):
        u, j = (int(x) for x in hit.nonzero()[0])
        raise ValueError(
            f"'{name}' holds known positives (e.g. source {u}, item "
            f'{int(rows[u, j])}); it never holds one'
        )
    return rows


def check_source_sampler(
    sampler: Any,
    num_sources: Any,
    edge_type: Any = None,
    name: str = 'num_sources',
) -> PositiveIndex:
    r"""A static sampler that fills per-source rows of negatives: fitted,
    filtered with :obj:`on_unsatisfiable="raise"` (so that every row belongs
    to its source and holds no positive), with at least
    :obj:`num_sources` source nodes (the argument :obj:`name`). Returns its
    index."""
    check_instance(sampler, 'sampler', NegativeSampler)
    if not sampler.is_fitted:
        raise ValueError(
            "'sampler' must be fitted on the positives first (call "
            "'sampler.fit(...)')"
        )
    if not sampler.filtered or sampler.on_unsatisfiable != 'raise':
        raise ValueError(
            f"'sampler' must be filtered with on_unsatisfiable='raise' so "
            f'that every row belongs to its source and holds no positive '
            f'(got filtered={sampler.filtered}, '
            f'on_unsatisfiable={sampler.on_unsatisfiable!r})'
        )
    index = sampler.index(edge_type)
    num_sources = check_positive_int(num_sources, name)
    if num_sources > index.num_src_nodes:
        raise ValueError(
            f"'{name}' must be at most the sampler's "
            f'{index.num_src_nodes} source nodes (got {num_sources})'
        )
    return index
