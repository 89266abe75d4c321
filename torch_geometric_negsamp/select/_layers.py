r"""The per-layer embeddings that layer-wise selectors (:class:`MixGCF`,
:class:`DENS`) take: their checks and how their layers are combined."""

from typing import Callable, List, Sequence, Tuple, Union

from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_float_tensor,
    check_index_tensor,
    check_instance,
)
from torch_geometric_negsamp.select._checks import check_pool

#: The named ways of combining layers ``[..., L + 1, d]`` into ``[..., D]``.
COMBINE = ('mean', 'concat', 'last')

Combine = Union[str, Callable[[Tensor], Tensor]]


def check_combine(combine: Combine) -> Combine:
    r"""One of :obj:`COMBINE` or a callable."""
    if not callable(combine) and combine not in COMBINE:
        raise ValueError(
            f"'combine' must be one of 'mean', 'concat', 'last' or a "
            f'callable (got {combine!r})'
        )
    return combine


def combine_layers(layers: Tensor, combine: Combine) -> Tensor:
    r"""Combines ``[..., L + 1, d]`` layers into ``[..., D]``: their mean,
    their concatenation, the last one, or :obj:`combine(layers)`."""
    if callable(combine):
        return combine(layers)
    if combine == 'mean':
        return layers.mean(dim=-2)
    if combine == 'last':
        return layers[..., -1, :]
    return layers.flatten(-2)


def combine_repr(combine: Combine) -> str:
    return f"combine='{combine if isinstance(combine, str) else 'callable'}'"


def check_layers(user_layers: Tensor, pos_layers: Tensor) -> Tuple[int, ...]:
    r"""``user_layers`` and ``pos_layers`` are floating-point tensors of one
    shape ``[B, L + 1, d]`` (values not looked at); returns it."""
    for name, value in (
        ('user_layers', user_layers),
        ('pos_layers', pos_layers),
    ):
        check_float_tensor(value, name, dim=3, finite=False)
    if pos_layers.shape != user_layers.shape:
        raise ValueError(
            f"'user_layers' and 'pos_layers' must both have shape "
            f'[B, L + 1, d] (got {list(user_layers.shape)} and '
            f'{list(pos_layers.shape)})'
        )
    return tuple(user_layers.shape)


def check_item_layers(item_layers, L1: int, d: int) -> List[Tensor]:
    r"""All items' layers, as ``[I, L + 1, d]`` or a list of :math:`L + 1`
    tensors ``[I, d]``; returns the list."""
    if isinstance(item_layers, Tensor):
        check_float_tensor(item_layers, 'item_layers', finite=False)
        if item_layers.dim() != 3 or item_layers.shape[1:] != (L1, d):
            raise ValueError(
                f"'item_layers' must have shape [I, {L1}, {d}] (got "
                f'{list(item_layers.shape)})'
            )
        return list(item_layers.unbind(1))
    check_instance(
        item_layers,
        'item_layers',
        (list, tuple),
        what='a tensor [I, L + 1, d] or a list of L + 1 tensors [I, d]',
    )
    for layer in item_layers:
        check_float_tensor(layer, 'item_layers', finite=False)
    layers: Sequence[Tensor] = list(item_layers)
    if len(layers) != L1 or any(
        t.dim() != 2 or t.shape != layers[0].shape or t.size(1) != d
        for t in layers
    ):
        raise ValueError(
            f"'item_layers' must hold {L1} tensors of one shape [I, {d}] "
            f'(got {[list(t.shape) for t in layers]})'
        )
    return list(layers)


def check_candidate_ids(candidates: Tensor, B: int) -> Tensor:
    r"""Candidate ids ``[B, M]`` or ``[B, k, M]`` (:math:`M \geq 1`);
    returned as ``[B, k, M]``. Values are not looked at."""
    check_index_tensor(candidates, 'candidates')
    if candidates.dim() == 2:
        candidates = candidates.unsqueeze(1)
    if candidates.dim() != 3 or candidates.size(0) != B:
        raise ValueError(
            f"'candidates' must have shape [{B}, M] or [{B}, k, M] "
            f'(got {list(candidates.shape)})'
        )
    check_pool(candidates, 'candidates', 2)
    return candidates


def check_candidate_layers(cand_layers: Tensor, B: int, L1: int, d: int):
    r"""Candidate layers ``[B, M, L + 1, d]`` or ``[B, k, M, L + 1, d]``
    (:math:`M \geq 1`); returned as ``[B, k, M, L + 1, d]``."""
    check_float_tensor(cand_layers, 'cand_layers', finite=False)
    if cand_layers.dim() == 4:
        cand_layers = cand_layers.unsqueeze(1)
    if (
        cand_layers.dim() != 5
        or cand_layers.size(0) != B
        or cand_layers.shape[3:] != (L1, d)
    ):
        raise ValueError(
            f"'cand_layers' must have shape [B, M, L + 1, d] or "
            f'[B, k, M, L + 1, d] with B={B}, L + 1={L1}, d={d} (got '
            f'{list(cand_layers.shape)})'
        )
    check_pool(cand_layers, 'cand_layers', 2)
    return cand_layers
