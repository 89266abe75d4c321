r"""Argument checks shared by the package.

Every check raises :class:`TypeError` or :class:`ValueError` with a message
that names the argument and what it got, before any work is done.
"""

from typing import Optional

import torch
from torch import Tensor


def check_index_tensor(
    value,
    name: str,
    *,
    dim: Optional[int] = None,
    rows: Optional[int] = None,
) -> Tensor:
    r"""Checks that :obj:`value` is an integer tensor of the given rank (and
    leading size, for :obj:`rows`)."""
    if not isinstance(value, Tensor):
        raise TypeError(
            f"'{name}' must be a torch.Tensor (got {type(value).__name__})"
        )
    if (
        value.dtype in (torch.bool,)
        or value.is_floating_point()
        or value.is_complex()
    ):
        raise TypeError(
            f"'{name}' must hold integer node indices "
            f'(got dtype {value.dtype})'
        )
    if dim is not None and value.dim() != dim:
        raise ValueError(
            f"'{name}' must have {dim} dimension(s) "
            f'(got shape {tuple(value.shape)})'
        )
    if rows is not None and value.size(0) != rows:
        raise ValueError(
            f"'{name}' must have shape [{rows}, *] "
            f'(got shape {tuple(value.shape)})'
        )
    return value


def check_in_range(value: Tensor, name: str, size: int) -> None:
    r"""Checks that every entry of :obj:`value` lies in ``[0, size)``."""
    if value.numel() == 0:
        return
    lo, hi = int(value.min()), int(value.max())
    if lo < 0 or hi >= size:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"'{name}' holds node index {bad}, out of range for {size} nodes"
        )


def check_num_nodes(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"'{name}' must be an int (got {type(value).__name__})"
        )
    if value <= 0:
        raise ValueError(f"'{name}' must be positive (got {value})")
    return value


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"'{name}' must be an int (got {type(value).__name__}: {value!r})"
        )
    if value <= 0:
        raise ValueError(f"'{name}' must be a positive integer (got {value})")
    return value


def check_user_item_index(
    name: str, index: object, num_users: int, num_items: int
) -> Tensor:
    r"""Checks a ``[2, E]`` tensor of (user, item) ids and returns it as
    ``long``."""
    if not isinstance(index, Tensor):
        raise TypeError(
            f"'{name}' must be a torch.Tensor (got {type(index).__name__})"
        )
    if index.dim() != 2 or index.size(0) != 2:
        raise ValueError(
            f"'{name}' must have shape [2, E] (got {list(index.shape)})"
        )
    if (
        index.dtype.is_floating_point
        or index.dtype.is_complex
        or index.dtype == torch.bool
    ):
        raise TypeError(f"'{name}' must hold integer ids (got {index.dtype})")
    index = index.long()
    if index.numel() > 0:
        for row, (kind, bound) in enumerate(
            (('user', num_users), ('item', num_items))
        ):
            low, high = int(index[row].min()), int(index[row].max())
            if low < 0 or high >= bound:
                raise ValueError(
                    f"'{name}' holds {kind} ids in [{low}, "
                    f'{high}], outside [0, {bound - 1}] '
                    f'(num_{kind}s={bound})'
                )
    return index


def check_temperature(temperature) -> float:
    if isinstance(temperature, bool) or not isinstance(
        temperature, (int, float)
    ):
        raise TypeError(
            f"'temperature' must be a number (got "
            f'{type(temperature).__name__})'
        )
    if not temperature > 0:
        raise ValueError(f"'temperature' must be positive (got {temperature})")
    return float(temperature)
