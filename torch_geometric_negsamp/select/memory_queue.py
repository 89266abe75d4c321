r"""A first-in first-out queue of recent items (MoCo)."""

from typing import Any, Dict, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_float_tensor,
    check_ids_in_range,
    check_index_tensor,
    check_num_nodes,
    check_positive_int,
)
from torch_geometric_negsamp.select.selector import Selector


class MemoryQueue(Selector):
    r"""A first-in first-out queue of recent item ids and (detached)
    embeddings, used as extra negatives as in MoCo (He et al., 2020,
    "Momentum Contrast for Unsupervised Visual Representation Learning",
    CVPR).

    The queue holds the buffers :obj:`items` ``[Q]`` and, with :obj:`dim`,
    :obj:`emb` ``[Q, dim]``, :math:`Q \leq` :obj:`size`, oldest first. It
    draws nothing at random; its state dict holds what it queued.

    Args:
        size (int): Capacity of the queue.
        dim (int, optional): Embedding size; :obj:`None` stores ids only.
            (default: :obj:`None`)
        num_items (int, optional): Number of items, to check the pushed ids
            against; without it, ids need only be non-negative.
            (default: :obj:`None`)
    """

    def __init__(
        self,
        size: int,
        dim: Optional[int] = None,
        num_items: Optional[int] = None,
    ):
        super().__init__()
        self.size = check_positive_int(size, 'size')
        self.dim = None if dim is None else check_positive_int(dim, 'dim')
        self.num_items = (
            None
            if num_items is None
            else check_num_nodes(num_items, 'num_items')
        )
        self.register_buffer('items', torch.empty(0, dtype=torch.long))
        self.register_buffer(
            'emb', None if dim is None else torch.empty(0, self.dim)
        )

    def __len__(self) -> int:
        return self.items.numel()

    @torch.no_grad()
    def push(self, items: Tensor, emb: Optional[Tensor] = None) -> None:
        r"""Appends ``items`` ``[N]`` (and their finite ``emb``
        ``[N, dim]``), dropping the oldest entries beyond :obj:`size`."""
        check_index_tensor(items, 'items', dim=1)
        if (emb is None) != (self.dim is None):
            raise ValueError(
                f"'emb' must be given exactly when the queue stores "
                f'embeddings (dim is {self.dim}; got '
                f'{"no" if emb is None else "an"} emb)'
            )
        if emb is not None:
            check_float_tensor(emb, 'emb', dim=2, finite=False)
            if emb.shape != (items.numel(), self.dim):
                raise ValueError(
                    f"'emb' must have shape [{items.numel()}, {self.dim}] "
                    f'(got {list(emb.shape)})'
                )
        self._check_devices(items=items, emb=emb)
        check_ids_in_range([('items', items, self.num_items, 'item')])
        if emb is not None:
            check_all_finite([emb], ['emb'])
        self.items = torch.cat([self.items, items.long()])[-self.size :]
        if emb is not None:
            self.emb = torch.cat([self.emb, emb.detach()])[-self.size :]

    def negatives(self) -> Tuple[Tensor, Optional[Tensor]]:
        r"""Returns the queued ``(items [Q], emb [Q, dim] or None)``."""
        if len(self) == 0:
            raise RuntimeError("the queue is empty; 'push' items first")
        return self.items, self.emb

    # A queue's length varies: its buffers are checked by rule, not by the
    # current shape, and resized before a load.
    def _check_buffer(self, name: str, value: Tensor, buffer: Tensor):
        key = f'state_dict[{name!r}]'
        if name == 'items':
            check_index_tensor(value, key, dim=1)
            if value.numel() > self.size:
                raise ValueError(
                    f"'{key}' holds {value.numel()} items, more than the "
                    f'queue size {self.size}'
                )
        else:
            check_float_tensor(value, key, dim=2, finite=False)
            if value.size(1) != self.dim:
                raise ValueError(
                    f"'{key}' must have shape [Q, {self.dim}] (got "
                    f'{list(value.shape)})'
                )

    def _check_state(self, state: Dict[str, Any]) -> None:
        items, emb = state.get('items'), state.get('emb')
        if items is None:
            return
        if emb is not None and emb.size(0) != items.numel():
            raise ValueError(
                f"'state_dict['emb']' must have one row per queued item "
                f'({items.numel()}) (got {emb.size(0)})'
            )
        check_ids_in_range(
            [("state_dict['items']", items, self.num_items, 'item')]
        )
        if emb is not None:
            check_all_finite([emb], ["state_dict['emb']"])

    def _prepare_load(self, state: Dict[str, Any]) -> None:
        for name in ('items', 'emb'):
            buffer = getattr(self, name)
            if name in state and buffer is not None:
                value = state[name]
                dtype = torch.long if name == 'items' else value.dtype
                setattr(
                    self,
                    name,
                    torch.empty(
                        value.shape, dtype=dtype, device=buffer.device
                    ),
                )

    def extra_repr(self) -> str:
        return f'size={self.size}, dim={self.dim}, len={len(self)}'
