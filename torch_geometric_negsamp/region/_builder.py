r"""Block-by-block construction of a
:class:`~torch_geometric_negsamp.region.HybridRowSet`."""

from typing import List, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import check_choice
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.region._bits import (
    BLOCK_BYTES,
    block_counts,
    num_blocks,
    pack_rows,
    unpack_rows,
)

#: Storage choices: per row by cost, bits for every non-empty row, or
#: sorted keys for every row.
STORAGES = ('auto', 'bits', 'ids')

#: Bytes a sorted member costs in :class:`PositiveIndex` (an ``int64`` key
#: and an ``int32`` complement-rank key).
KEY_BYTES = 12

#: Largest boolean scratch (bytes) the builder unpacks at once.
SCRATCH_BYTES = 2**26


class RowSetBuilder:
    r"""Collects the members of row blocks for :class:`HybridRowSet`: bit
    rows are packed as they come; key rows are kept as pairs and indexed
    once at the end. Each row is added at most once."""

    def __init__(self, num_rows, num_cols, device, storage):
        self.num_rows = num_rows
        self.num_cols = num_cols
        self.device = torch.device('cpu' if device is None else device)
        self.storage = check_choice(storage, 'storage', STORAGES)
        blocks = num_blocks(num_cols)
        self.row_bytes = blocks * BLOCK_BYTES
        #: Bytes of one bit row with its directory entries.
        self.dense_row_bytes = self.row_bytes + 4 * (blocks + 1)
        self.group_rows = max(1, SCRATCH_BYTES // (8 * self.row_bytes))
        #: Transient bytes of :meth:`add` per bit row of a group (boolean
        #: scratch, packed row, popcounts) and per member pair (masks,
        #: copies, slots; the caller's pairs included).
        self.row_scratch = 12 * self.row_bytes
        self.pair_scratch = 56
        #: Transient bytes of a dense block's row (packing: a boolean
        #: eighth of the block at a time, the packed row and its copy).
        self.dense_scratch = 6 * self.row_bytes
        self._rows: List[Tensor] = []
        self._bits: List[Tensor] = []
        self._dirs: List[Tensor] = []
        self._pairs: List[Tensor] = []

    def _dense_rows(self, count: Tensor) -> Tensor:
        r"""Which rows of these member counts are stored as bits."""
        if self.storage == 'bits':
            return count > 0
        if self.storage == 'ids':
            return torch.zeros_like(count, dtype=torch.bool)
        return count * KEY_BYTES > self.dense_row_bytes

    def add(
        self,
        row0: int,
        num: int,
        local_rows: Tensor,
        cols: Tensor,
    ) -> None:
        r"""Adds the members of rows ``row0 .. row0 + num - 1``, given as
        pairs (row - :obj:`row0`, column), duplicates allowed."""
        dense = self._dense_rows(torch.bincount(local_rows, minlength=num))
        ids = dense.nonzero().view(-1)
        if ids.numel() == 0:
            self._keep_sparse(row0, local_rows, cols)
            return
        if ids.numel() < num:
            is_dense = dense[local_rows]
            self._keep_sparse(row0, local_rows[~is_dense], cols[~is_dense])
            local_rows, cols = local_rows[is_dense], cols[is_dense]
        slot = (torch.cumsum(dense, 0) - 1)[local_rows]
        del local_rows
        if ids.numel() > self.group_rows:
            # Several groups of bit rows: sort the pairs to cut them.
            order = torch.argsort(slot)
            slot, cols = slot[order], cols[order]
            del order
        bounds = list(range(0, ids.numel(), self.group_rows))
        bounds.append(ids.numel())
        edge = torch.searchsorted(
            slot, torch.tensor(bounds, device=cols.device)
        ).tolist()
        for g in range(len(bounds) - 1):
            g0, g1, e0, e1 = bounds[g], bounds[g + 1], edge[g], edge[g + 1]
            scratch = torch.zeros(
                (g1 - g0, 8 * self.row_bytes),
                dtype=torch.bool,
                device=cols.device,
            )
            scratch[slot[e0:e1] - g0, cols[e0:e1]] = True
            self._pack(row0 + ids[g0:g1], scratch)

    def add_packed(
        self, row0: int, packed: Tensor, counts: Optional[Tensor] = None
    ) -> None:
        r"""Adds rows ``row0 ..`` given as packed bit rows ``[rows,
        row_bytes]`` (columns past :obj:`num_cols` unset), with their
        members per block (``int32`` ``[rows, blocks]``) when known."""
        if counts is None:
            counts = block_counts(packed)
        dense = self._dense_rows(counts.sum(1, dtype=torch.long))
        ids = dense.nonzero().view(-1)
        if ids.numel() < packed.size(0):
            rest = (~dense).nonzero().view(-1)
            for g0 in range(0, rest.numel(), self.group_rows):
                part = rest[g0 : g0 + self.group_rows]
                local, cols = unpack_rows(packed[part]).nonzero().unbind(1)
                self._keep_sparse(row0, part[local], cols)
            if ids.numel() == 0:
                return
            packed, counts = packed[ids], counts[ids]
        self._keep_packed(row0 + ids, packed, counts)

    def _pack(self, rows: Tensor, scratch: Tensor) -> None:
        packed = pack_rows(scratch)
        self._keep_packed(rows, packed, block_counts(packed))

    def _keep_packed(self, rows: Tensor, packed: Tensor, counts: Tensor):
        directory = torch.zeros(
            (rows.numel(), counts.size(1) + 1),
            dtype=torch.int32,
            device=packed.device,
        )
        torch.cumsum(counts, 1, dtype=torch.int32, out=directory[:, 1:])
        self._bits.append(packed)
        self._dirs.append(directory)
        self._rows.append(rows)

    def _keep_sparse(self, row0: int, local_rows: Tensor, cols: Tensor):
        if local_rows.numel() > 0:
            self._pairs.append(torch.stack([local_rows + row0, cols]))

    def finish(self):
        r"""The :class:`HybridRowSet` of every member added."""
        from torch_geometric_negsamp.region.hybrid_row_set import HybridRowSet

        device = self.device
        pairs = (
            torch.cat(self._pairs, dim=1)
            if self._pairs
            else torch.empty((2, 0), dtype=torch.long, device=device)
        )
        self._pairs = []
        sparse = PositiveIndex(pairs, self.num_rows, self.num_cols)
        del pairs
        count = sparse.degree()
        slot = torch.full(
            (self.num_rows,), -1, dtype=torch.long, device=device
        )
        blocks = self.row_bytes // BLOCK_BYTES
        directory = _concat(self._dirs, (blocks + 1,), torch.int32, device)
        bits = _concat(self._bits, (self.row_bytes,), torch.uint8, device)
        if self._rows:
            rows = torch.cat(self._rows)
            slot[rows] = torch.arange(rows.numel(), device=device)
            count[rows] += directory[:, -1].long()
        self._rows = []
        return HybridRowSet(
            self.num_rows,
            self.num_cols,
            count,
            slot,
            bits,
            directory,
            sparse,
            self.storage,
        )


def _concat(parts: List[Tensor], width, dtype, device) -> Tensor:
    r"""Concatenates row blocks, freeing each block once copied, so that
    the peak stays near the result's size (the result's pages on a CPU are
    only touched as they are written)."""
    total = sum(p.size(0) for p in parts)
    out = torch.empty((total,) + tuple(width), dtype=dtype, device=device)
    at = 0
    while parts:
        part = parts.pop(0)
        out[at : at + part.size(0)] = part
        at += part.size(0)
        del part
    return out
