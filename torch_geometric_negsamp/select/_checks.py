r"""The checks particular to selectors (scores ``[B, M]``, ``k <= M``),
built on :mod:`torch_geometric_negsamp._validate`."""

from typing import Any

from torch import Tensor

from torch_geometric_negsamp._validate import check_float_tensor


def check_scores(
    scores: Any, name: str = 'scores', finite: bool = True
) -> Tensor:
    r"""Floating-point scores ``[B, M]`` of a non-empty candidate pool
    (:math:`M \geq 1`), finite unless :obj:`finite=False` (a caller that
    checks the values later, after its other arguments' shapes)."""
    check_float_tensor(scores, name, dim=2, finite=False)
    check_pool(scores, name, 1)
    return check_float_tensor(scores, name, finite=finite)


def check_pool(value: Tensor, name: str, dim: int) -> None:
    r"""Dimension :obj:`dim` of :obj:`value`, the candidate pool, is not
    empty (:math:`M \geq 1`)."""
    if value.size(dim) == 0:
        raise ValueError(
            f"'{name}' holds an empty candidate pool (got shape "
            f'{list(value.shape)}, M = 0)'
        )


def check_k_fits(k: int, num_candidates: int, name: str = 'k') -> None:
    r""":math:`k` selections fit in a pool of :obj:`num_candidates`."""
    if k > num_candidates:
        raise ValueError(
            f"'{name}' ({k}) cannot exceed the number of candidates M "
            f'(got M = {num_candidates})'
        )
