r"""Checks of tensor arguments: kind, dtype, shape, device, finiteness and
id ranges."""

from typing import Any, Optional, Sequence, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._validate.scalars import check_instance


def check_tensor(value: Any, name: str) -> Tensor:
    r"""A :class:`torch.Tensor` that holds data (not a meta tensor)."""
    check_instance(value, name, Tensor, what='a torch.Tensor')
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


def check_ids_in_range(
    entries: Sequence[Tuple[str, Tensor, Optional[int], str]],
) -> None:
    r"""Every ``(name, tensor, size, kind)`` of :obj:`entries` holds ids in
    ``[0, size)`` (non-negative ids when :obj:`size` is :obj:`None`;
    :obj:`kind` names them, e.g. ``'item'``), checked with one host
    synchronisation for all of them (all on one device); the error names the
    first offending tensor as :func:`check_in_range` does."""
    flags = [
        (t >= 0 if size is None else (t >= 0) & (t < size)).all()
        for _, t, size, _ in entries
        if t.numel() > 0
    ]
    if not flags or all(torch.stack(flags).tolist()):
        return
    for name, t, size, kind in entries:
        if size is not None:
            check_in_range(t, name, size, what=f'{kind} id', unit=f'{kind}s')
        elif t.numel() > 0 and int(t.min()) < 0:
            raise ValueError(
                f"'{name}' holds {kind} id {int(t.min())}; ids must be "
                f'non-negative'
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


def check_sparse_adjacency(
    value: Any,
    name: str,
    num_nodes: Optional[int] = None,
    layouts=(torch.sparse_csr,),
    square: bool = True,
) -> Tensor:
    r"""A sparse matrix of the given layouts, square unless
    :obj:`square=False` (of size :obj:`num_nodes` when given), that does not
    require grad."""
    check_instance(value, name, Tensor, what='a sparse torch.Tensor')
    if value.layout not in layouts:
        names = ' or '.join(str(layout) for layout in layouts)
        raise TypeError(
            f"'{name}' must have layout {names} (got {value.layout})"
        )
    if value.dim() != 2 or (square and value.size(0) != value.size(1)):
        kind = 'a square matrix' if square else '2-dimensional'
        raise ValueError(
            f"'{name}' must be {kind} (got shape {list(value.shape)})"
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


# ------------------------------------------------------------------ tidy
def check_like(value: Tensor, name: str, like: Tensor, what: str) -> None:
    r""":obj:`value` has the dtype and lives on the device of :obj:`like`
    (:obj:`what`, e.g. ``"'adj'"`` or ``'the embeddings'``)."""
    if value.dtype != like.dtype:
        raise TypeError(
            f"'{name}' must have the dtype of {what} ({like.dtype}) "
            f'(got {value.dtype})'
        )
    if value.device != like.device:
        raise ValueError(
            f"'{name}' must be on the device of {what} ({like.device}) "
            f'(got {value.device})'
        )


def check_same_shape(
    value: Tensor, name: str, like: Tensor, like_name: str
) -> None:
    r""":obj:`value` has the shape of the argument :obj:`like_name`."""
    if value.shape != like.shape:
        raise ValueError(
            f"'{name}' must have the shape of '{like_name}' "
            f'{list(like.shape)} (got {list(value.shape)})'
        )


def check_returned(
    value: Any, name: str, shape: Sequence[int], device=None
) -> Tensor:
    r"""What the callable :obj:`name` returned: a floating-point tensor of
    :obj:`shape` (on :obj:`device` when given)."""
    if not isinstance(value, Tensor) or not value.is_floating_point():
        got = value.dtype if isinstance(value, Tensor) else type(value)
        raise TypeError(
            f"'{name}' must return a floating-point tensor (got "
            f'{getattr(got, "__name__", got)})'
        )
    if device is not None and value.device != torch.device(device):
        raise ValueError(
            f"'{name}' must return scores on {device} (got {value.device})"
        )
    if list(value.shape) != list(shape):
        raise ValueError(
            f"'{name}' must return scores of shape {list(shape)} (got "
            f'{list(value.shape)})'
        )
    return value
