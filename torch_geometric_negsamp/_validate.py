r"""Argument checks: the one home of every check the package makes.

Every check raises :class:`TypeError` (wrong kind of value) or
:class:`ValueError` (right kind, wrong value) with a message of the form
``'name' must ... (got ...)``, before any work is done. Checks that look at
tensor values cost one reduction (one host synchronisation on a GPU); hot
loops validate once up front and then use the unchecked paths.
"""

import math
import numbers
import os
from typing import Any, Iterable, Optional, Sequence, Tuple

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


# ---------------------------------------------------------------- scalars
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
    if value is not None and not isinstance(value, torch.Generator):
        raise TypeError(
            f"'{name}' must be a torch.Generator or None "
            f'(got {type(value).__name__})'
        )
    return value


# ---------------------------------------------------------------- tensors
def check_tensor(value: Any, name: str) -> Tensor:
    r"""A :class:`torch.Tensor` that holds data (not a meta tensor)."""
    if not isinstance(value, Tensor):
        raise TypeError(
            f"'{name}' must be a torch.Tensor (got {type(value).__name__})"
        )
    if value.is_meta:
        raise ValueError(
            f"'{name}' is on meta (a meta tensor holds no data to use)"
        )
    if value.layout != torch.strided:
        raise TypeError(
            f"'{name}' must be a dense tensor (got layout {value.layout})"
        )
    return value


def _check_shape(
    value: Tensor,
    name: str,
    dim: Optional[int],
    rows: Optional[int],
) -> None:
    if dim is not None and value.dim() != dim:
        raise ValueError(
            f"'{name}' must have {dim} dimension(s) "
            f'(got shape {list(value.shape)})'
        )
    if rows is not None and (value.dim() == 0 or value.size(0) != rows):
        raise ValueError(
            f"'{name}' must have shape [{rows}, *] "
            f'(got shape {list(value.shape)})'
        )


def check_index_tensor(
    value: Any,
    name: str,
    *,
    dim: Optional[int] = None,
    rows: Optional[int] = None,
) -> Tensor:
    r"""An integer tensor (not :obj:`bool`) of the given rank (and leading
    size :obj:`rows`). Values are not looked at (see
    :func:`check_in_range`)."""
    check_tensor(value, name)
    if (
        value.dtype == torch.bool
        or value.is_floating_point()
        or value.is_complex()
    ):
        raise TypeError(
            f"'{name}' must hold integer ids (got dtype {value.dtype})"
        )
    _check_shape(value, name, dim, rows)
    return value


def check_float_tensor(
    value: Any,
    name: str,
    *,
    dim: Optional[int] = None,
    finite: bool = True,
) -> Tensor:
    r"""A floating-point tensor of the given rank, every entry finite
    (unless :obj:`finite=False`)."""
    check_tensor(value, name)
    if not value.is_floating_point():
        raise TypeError(
            f"'{name}' must be a floating-point tensor "
            f'(got dtype {value.dtype})'
        )
    _check_shape(value, name, dim, None)
    if finite and value.numel() > 0 and not bool(torch.isfinite(value).all()):
        bad = value[~torch.isfinite(value)].view(-1)[0].item()
        raise ValueError(
            f"'{name}' must be finite (got {bad} among its entries)"
        )
    return value


def check_in_range(
    value: Tensor,
    name: str,
    size: int,
    *,
    what: str = 'node index',
    unit: str = 'nodes',
) -> None:
    r"""Every entry of :obj:`value` lies in ``[0, size)``."""
    if value.numel() == 0:
        return
    lo, hi = int(value.min()), int(value.max())
    if lo < 0 or hi >= size:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"'{name}' holds {what} {bad}, out of range for {size} {unit}"
        )


def check_same_device(value: Tensor, name: str, device, owner: str) -> None:
    r""":obj:`value` lives on :obj:`device`, where :obj:`owner` lives."""
    if value.device != torch.device(device):
        raise ValueError(
            f"'{name}' is on {value.device} but {owner} is on {device}; "
            f'move one of them'
        )


def check_user_item_index(
    value: Any, name: str, num_users: int, num_items: int
) -> Tensor:
    r"""A ``[2, E]`` integer tensor of (user, item) ids in range; returned as
    :obj:`long`."""
    check_tensor(value, name)
    if value.dim() != 2 or value.size(0) != 2:
        raise ValueError(
            f"'{name}' must have shape [2, E] (got {list(value.shape)})"
        )
    value = check_index_tensor(value, name).long()
    if value.numel() > 0:
        low, high = value.min(dim=1).values, value.max(dim=1).values
        for row, (kind, bound) in enumerate(
            (('user', num_users), ('item', num_items))
        ):
            lo, hi = int(low[row]), int(high[row])
            if lo < 0 or hi >= bound:
                raise ValueError(
                    f"'{name}' holds {kind} ids in [{lo}, {hi}], outside "
                    f'[0, {bound - 1}] (num_{kind}s={bound})'
                )
    return value


def check_sparse_adjacency(
    value: Any,
    name: str,
    num_nodes: Optional[int] = None,
    layouts=(torch.sparse_csr,),
) -> Tensor:
    r"""A square sparse matrix of the given layouts (of size
    :obj:`num_nodes` when given) that does not require grad."""
    if not isinstance(value, Tensor):
        raise TypeError(
            f"'{name}' must be a sparse torch.Tensor "
            f'(got {type(value).__name__})'
        )
    if value.layout not in layouts:
        names = ' or '.join(str(layout) for layout in layouts)
        raise TypeError(
            f"'{name}' must have layout {names} (got {value.layout})"
        )
    if value.dim() != 2 or value.size(0) != value.size(1):
        raise ValueError(
            f"'{name}' must be a square matrix (got shape {list(value.shape)})"
        )
    if num_nodes is not None and value.size(0) != num_nodes:
        raise ValueError(
            f"'{name}' must have shape [{num_nodes}, {num_nodes}] "
            f'(num_users + num_items) (got {list(value.shape)})'
        )
    if value.requires_grad:
        raise ValueError(
            f"'{name}' must not require grad (the adjacency is a constant "
            f'of the graph)'
        )
    return value


# -------------------------------------------------------- request sizes
def _memory_of(device) -> int:
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 2**40


def check_request_size(
    num_elements: int,
    name: str,
    *,
    element_size: int = 8,
    device='cpu',
    what: str = 'the result',
) -> None:
    r"""Refuses, before any allocation, a request whose output alone would
    not fit in the memory of :obj:`device`, naming the bytes it would
    need."""
    need = int(num_elements) * int(element_size)
    have = _memory_of(device)
    if need > have:
        raise ValueError(
            f"'{name}' asks for {what} of {num_elements:,} entries "
            f'({need / 2**30:,.1f} GiB), more than the '
            f'{have / 2**30:,.1f} GiB of {torch.device(device)}'
        )


def check_keys_known(
    keys: Iterable, name: str, known: Sequence, what: str = 'edge type'
) -> None:
    r"""Every key of a keyed argument names something that exists."""
    for key in keys:
        if key not in known:
            raise ValueError(
                f"'{name}' has a key {key!r} that is not a {what} of the "
                f'data ({list(known)})'
            )


# ------------------------------------------------------------------ utils
def check_instance(
    value: Any, name: str, cls: type, *, optional: bool = False
) -> Any:
    r"""An instance of :obj:`cls` (or :obj:`None` when :obj:`optional`)."""
    if (value is None and optional) or isinstance(value, cls):
        return value
    kind = f'a {cls.__name__}' + (' or None' if optional else '')
    raise TypeError(f"'{name}' must be {kind} (got {type(value).__name__})")


def check_key_space(num_src: int, num_dst: int, name: str) -> None:
    r"""Pair keys of :obj:`num_src` x :obj:`num_dst` nodes fit in 64 bits
    with room to spare: ``num_src * (num_dst + 1) < 2**62`` (so that the
    offsets and rank shifts added to them stay below 2**63)."""
    if num_src * (num_dst + 1) >= 2**62:
        raise ValueError(
            f"'{name}' is too large for 64-bit pair keys "
            f'(got {num_src} x {num_dst} nodes)'
        )


def check_edge_ids(
    value: Tensor,
    name: str,
    num_src: Optional[int] = None,
    num_dst: Optional[int] = None,
) -> Tuple[int, int]:
    r"""Every id of the ``[2, E]`` integer tensor :obj:`value` is
    non-negative, row 0 below :obj:`num_src` and row 1 below
    :obj:`num_dst` where given. Returns ``(max of row 0 + 1, max of row 1 +
    1)`` (0 for no edge): the node counts PyG infers. One pass and one host
    synchronisation."""
    if value.numel() == 0:
        return 0, 0
    # One aminmax per row (a reduction over dim=1 is far slower on small or
    # transposed tensors with several threads), one synchronisation:
    lo_src, hi_src, lo_dst, hi_dst = torch.stack(
        [*torch.aminmax(value[0]), *torch.aminmax(value[1])]
    ).tolist()
    for row, lo, hi, size in (
        (0, lo_src, hi_src, num_src),
        (1, lo_dst, hi_dst, num_dst),
    ):
        if size is None and lo < 0:
            raise ValueError(
                f"'{name}[{row}]' holds node index {lo}, out of range "
                f'(node ids are non-negative)'
            )
        if size is not None and (lo < 0 or hi >= size):
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"'{name}[{row}]' holds node index {bad}, out of range for "
                f'{size} nodes'
            )
    return hi_src + 1, hi_dst + 1


def check_batch_vector(value: Any, name: str) -> int:
    r"""A PyG batch vector: a 1-D integer tensor of non-negative graph ids,
    sorted (the nodes of each graph contiguous, in graph order). Returns the
    number of graphs it names (its maximum + 1; 0 when empty)."""
    check_index_tensor(value, name, dim=1)
    if value.numel() == 0:
        return 0
    unsorted = (value[1:] < value[:-1]).sum()
    lo, hi, unsorted = torch.stack(
        [value.min().long(), value.max().long(), unsorted]
    ).tolist()
    if lo < 0:
        raise ValueError(
            f"'{name}' must hold non-negative graph ids (got {lo})"
        )
    if unsorted:
        raise ValueError(
            f"'{name}' must be sorted (the nodes of each graph contiguous "
            f'and in graph order)'
        )
    return hi + 1


# ------------------------------------- data: datasets, metrics, losses
def check_path(value: Any, name: str) -> str:
    r"""A file-system path (:class:`str` or :class:`os.PathLike`); returns
    it as :class:`str`."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(
            f"'{name}' must be a path (str or os.PathLike) "
            f'(got {type(value).__name__})'
        )
    return value


def check_all_finite(tensors: Sequence[Tensor], names: Sequence[str]) -> None:
    r"""Every entry of every floating-point tensor of :obj:`tensors` (all
    on one device, see :func:`check_same_device`) is finite, checked with
    one host synchronisation for all of them; the error names the first
    tensor that holds a NaN or an infinity, and one such value.

    Skipped while a CUDA graph is being captured (a captured step may not
    synchronise with the host): there, check the replayed result instead.
    """
    pairs = [(t, n) for t, n in zip(tensors, names) if t.numel() > 0]
    if not pairs:
        return
    if pairs[0][0].is_cuda and torch.cuda.is_current_stream_capturing():
        return
    ok = torch.stack([torch.isfinite(t).all() for t, _ in pairs]).tolist()
    if all(ok):
        return
    tensor, name = pairs[ok.index(False)]
    check_float_tensor(tensor, name)  # Raises, naming a non-finite value.


def check_callable(value: Any, name: str) -> Any:
    r"""A callable or :obj:`None` (an optional hook)."""
    if value is not None and not callable(value):
        raise TypeError(
            f"'{name}' must be callable or None (got {type(value).__name__})"
        )
    return value
