r"""Checks of scalar arguments: flags, counts, reals, choices, seeds,
generators, instances, callables and paths."""

import math
import numbers
import os
from typing import Any, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

#: Largest node count the package accepts: a float64 draw is exact below
#: 2**53, and pair keys ``u * N + v`` must fit in 63 bits.
MAX_NUM_NODES = 2**53


def _got(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + '...'
    return f'{type(value).__name__} {text}'


def check_bool(value: Any, name: str) -> bool:
    r"""A real :class:`bool` (a truthy string such as ``'no'`` is refused)."""
    if not isinstance(value, bool):
        raise TypeError(f"'{name}' must be a bool (got {_got(value)})")
    return value


def check_int(
    value: Any,
    name: str,
    *,
    minimum: Optional[int] = None,
    maximum: Optional[int] = None,
) -> int:
    r"""An integer (Python, NumPy or a 0-dim integer tensor; never a
    :class:`bool`) in ``[minimum, maximum]``; returns it as :class:`int`."""
    if (
        isinstance(value, Tensor)
        and value.dim() == 0
        and not (
            value.is_floating_point() or value.is_complex() or value.is_meta
        )
        and value.dtype != torch.bool
    ):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"'{name}' must be an int (got {_got(value)})")
    value = int(value)
    if minimum is not None and value < minimum:
        word = {0: 'non-negative', 1: 'a positive integer'}.get(
            minimum, f'>= {minimum}'
        )
        raise ValueError(f"'{name}' must be {word} (got {value})")
    if maximum is not None and value > maximum:
        raise ValueError(f"'{name}' must be at most {maximum} (got {value})")
    return value


def check_positive_int(value: Any, name: str) -> int:
    return check_int(value, name, minimum=1)


def check_num_nodes(value: Any, name: str, *, minimum: int = 1) -> int:
    r"""A node count in ``[minimum, 2**53]``."""
    return check_int(value, name, minimum=minimum, maximum=MAX_NUM_NODES)


def check_real(
    value: Any,
    name: str,
    *,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    open_min: bool = False,
    open_max: bool = False,
) -> float:
    r"""A finite real number (never a :class:`bool`, NaN or infinity) in the
    interval given by :obj:`minimum` / :obj:`maximum` (closed unless
    :obj:`open_min` / :obj:`open_max`); returns it as :class:`float`."""
    if isinstance(value, Tensor) and value.dim() == 0 and not value.is_meta:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"'{name}' must be a float (got {_got(value)})")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(f"'{name}' must be finite (got {value})") from None
    if not math.isfinite(value):
        raise ValueError(f"'{name}' must be finite (got {value})")
    low_bad = minimum is not None and (
        value < minimum or (open_min and value == minimum)
    )
    high_bad = maximum is not None and (
        value > maximum or (open_max and value == maximum)
    )
    if low_bad or high_bad:
        low = '-inf' if minimum is None else f'{minimum:g}'
        high = 'inf' if maximum is None else f'{maximum:g}'
        interval = (
            f'{"(" if open_min or minimum is None else "["}{low}, '
            f'{high}{")" if open_max or maximum is None else "]"}'
        )
        if minimum == 0 and maximum is None:
            rule = 'positive' if open_min else 'non-negative'
            raise ValueError(f"'{name}' must be {rule} (got {value:g})")
        raise ValueError(f"'{name}' must be in {interval} (got {value:g})")
    return value


def check_positive_real(value: Any, name: str) -> float:
    return check_real(value, name, minimum=0.0, open_min=True)


def check_probability(
    value: Any, name: str, *, allow_one: bool = True
) -> float:
    r"""A probability in ``[0, 1]`` (``[0, 1)`` unless :obj:`allow_one`)."""
    return check_real(
        value, name, minimum=0.0, maximum=1.0, open_max=not allow_one
    )


def check_temperature(value: Any, name: str = 'temperature') -> float:
    return check_positive_real(value, name)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        options = ', '.join(repr(c) for c in choices)
        raise ValueError(f"'{name}' must be one of {options} (got {value!r})")
    return value


def check_seed(value: Any, name: str = 'seed') -> int:
    r"""A seed :func:`torch.Generator.manual_seed` accepts:
    ``[-2**63, 2**64)``."""
    return check_int(value, name, minimum=-(2**63), maximum=2**64 - 1)


def check_generator(
    value: Any, name: str = 'generator'
) -> Optional[torch.Generator]:
    return check_instance(
        value,
        name,
        torch.Generator,
        optional=True,
        what='a torch.Generator or None',
    )


def check_instance(
    value: Any,
    name: str,
    cls: Union[type, Tuple[type, ...]],
    *,
    optional: bool = False,
    what: Optional[str] = None,
) -> Any:
    r"""An instance of :obj:`cls` (or :obj:`None` when :obj:`optional`);
    the error says what is expected (:obj:`what`, by default the class)
    and the type it got."""
    if (value is None and optional) or isinstance(value, cls):
        return value
    if what is None:
        what = f'a {cls.__name__}' + (' or None' if optional else '')
    raise TypeError(f"'{name}' must be {what} (got {type(value).__name__})")


def check_callable(value: Any, name: str) -> Any:
    r"""A callable or :obj:`None` (an optional hook)."""
    if value is not None and not callable(value):
        raise TypeError(
            f"'{name}' must be callable or None (got {type(value).__name__})"
        )
    return value


def check_path(value: Any, name: str) -> str:
    r"""A file-system path (:class:`str` or :class:`os.PathLike`); returns
    it as :class:`str`."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return check_instance(value, name, str, what='a path (str or os.PathLike)')


# ------------------------------------------------------------------ region
def check_node_counts(
    value: Any, name: str = 'num_nodes', *, minimum: int = 1
) -> Tuple[bool, int, int]:
    r"""A node count (a homogeneous graph) or a pair ``(num_src,
    num_dst)`` (a bipartite one), each at least :obj:`minimum`; returns
    ``(bipartite, num_src, num_dst)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"'{name}' must be an int or a pair (num_src, num_dst) "
                f'(got {len(value)} entries)'
            )
        num_src = check_num_nodes(value[0], f'{name}[0]', minimum=minimum)
        num_dst = check_num_nodes(value[1], f'{name}[1]', minimum=minimum)
        return True, num_src, num_dst
    num_src = check_num_nodes(value, name, minimum=minimum)
    return False, num_src, num_src
