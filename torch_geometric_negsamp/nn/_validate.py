r"""Input checks shared by the recommender encoders (private).

Every check runs on metadata or on one reduction over the input, before any
work, and raises :class:`TypeError` / :class:`ValueError` naming the argument
and what it got.
"""

import numbers
from typing import Any, Optional

import torch
from torch import Tensor


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    r"""Checks that :obj:`value` is an int (not a bool) >= :obj:`minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"'{name}' must be an int (got {type(value).__name__} {value!r})"
        )
    if value < minimum:
        word = 'positive' if minimum == 1 else f'>= {minimum}'
        raise ValueError(f"'{name}' must be {word} (got {value})")
    return int(value)


def check_probability(name: str, value: Any) -> float:
    r"""Checks that :obj:`value` is a real number in :math:`[0, 1)`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"'{name}' must be a float in [0, 1) (got "
            f'{type(value).__name__} {value!r})'
        )
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"'{name}' must be in [0, 1) (got {value})")
    return float(value)


def check_train_index(
    train_index: Any, num_users: int, num_items: int
) -> Tensor:
    r"""Checks a bipartite interaction list :obj:`train_index` of shape
    :obj:`[2, E]` (row 0 users in :obj:`[0, num_users)`, row 1 items in
    :obj:`[0, num_items)`).
    """
    if not isinstance(train_index, Tensor):
        raise TypeError(
            f"'train_index' must be a torch.Tensor (got "
            f'{type(train_index).__name__})'
        )
    if train_index.dtype != torch.long:
        raise TypeError(
            f"'train_index' must have dtype torch.long (got "
            f'{train_index.dtype})'
        )
    if train_index.dim() != 2 or train_index.size(0) != 2:
        raise ValueError(
            f"'train_index' must have shape [2, E] (got "
            f'{list(train_index.shape)})'
        )
    if train_index.numel() > 0:
        lo = train_index.min(dim=1).values.tolist()
        hi = train_index.max(dim=1).values.tolist()
        if lo[0] < 0 or hi[0] >= num_users:
            raise ValueError(
                f"'train_index' user ids must lie in [0, "
                f'{num_users}) (got range [{lo[0]}, {hi[0]}])'
            )
        if lo[1] < 0 or hi[1] >= num_items:
            raise ValueError(
                f"'train_index' item ids must lie in [0, "
                f'{num_items}) (got range [{lo[1]}, {hi[1]}])'
            )
    return train_index


def check_adjacency(
    name: str,
    adj: Any,
    num_nodes: Optional[int] = None,
    layouts=(torch.sparse_csr,),
) -> Tensor:
    r"""Checks that :obj:`adj` is a square sparse matrix of the given
    layouts (and of size :obj:`num_nodes` when given).
    """
    if not isinstance(adj, Tensor):
        raise TypeError(
            f"'{name}' must be a sparse torch.Tensor (got "
            f'{type(adj).__name__})'
        )
    if adj.layout not in layouts:
        names = ' or '.join(str(layout) for layout in layouts)
        raise TypeError(
            f"'{name}' must have layout {names} (got {adj.layout})"
        )
    if adj.dim() != 2 or adj.size(0) != adj.size(1):
        raise ValueError(
            f"'{name}' must be a square matrix (got shape {list(adj.shape)})"
        )
    if num_nodes is not None and adj.size(0) != num_nodes:
        raise ValueError(
            f"'{name}' must have shape [{num_nodes}, "
            f'{num_nodes}] (num_users + num_items) (got '
            f'{list(adj.shape)})'
        )
    if adj.requires_grad:
        raise ValueError(
            f"'{name}' must not require grad (the adjacency is "
            f'a constant of the graph)'
        )
    return adj


def check_generator(generator: Any) -> Optional[torch.Generator]:
    r"""Checks that :obj:`generator` is :obj:`None` or a
    :class:`torch.Generator`.
    """
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"'generator' must be a torch.Generator or None (got "
            f'{type(generator).__name__})'
        )
    return generator


def rand(
    size, generator: Optional[torch.Generator], device: torch.device
) -> Tensor:
    r"""Uniform :math:`[0, 1)` draws of shape :obj:`size` on :obj:`device`.

    Draws from :obj:`generator` (on the generator's own device, then moves
    the result when the devices differ) or from the global RNG.
    """
    device = torch.device(device)
    if generator is None or _same_device(generator.device, device):
        return torch.rand(size, generator=generator, device=device)
    return torch.rand(size, generator=generator, device=generator.device).to(
        device
    )


def _same_device(a: torch.device, b: torch.device) -> bool:
    # A CUDA device without index means the current one; treat it as equal.
    if a.type != b.type:
        return False
    return a.index is None or b.index is None or a.index == b.index
