r"""A set of columns per row, stored as bits where rows are dense and as
sorted keys where they are sparse."""

import torch
from torch import Tensor

from torch_geometric_negsamp._tensor_store import TensorStore
from torch_geometric_negsamp._validate import (
    check_in_range,
    check_index_tensor,
    check_num_nodes,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.region._bits import (
    BLOCK_BITS,
    BLOCK_BYTES,
    num_blocks,
    rank_in_block,
    select_in_block,
    unpack_rows,
)
from torch_geometric_negsamp.region._builder import (
    SCRATCH_BYTES,
    RowSetBuilder,
)

# Queries gather one block (64 bytes, widened to int64 counts) per lane:
# batches are cut into chunks of this many lanes to bound that memory.
_CHUNK = 2**16


class HybridRowSet(TensorStore):
    r"""A set of columns for each of :obj:`num_rows` rows, with exact,
    batched membership, rank and select, for members and non-members alike.

    Each row is stored in the cheaper of two forms:

    * **bits** (dense rows): one bit per column, padded to blocks of 512
      bits, plus an ``int32`` directory of the members before each block
      (:math:`\lceil C / 512 \rceil \cdot 64 + 4 (\lceil C / 512 \rceil +
      1)` bytes for :math:`C` columns). Select is a binary search over the
      directory, then one 64-byte gather and lookup-table popcounts;
    * **sorted keys** (sparse rows): the rows' members in one
      :class:`~torch_geometric_negsamp.PositiveIndex` (12 bytes per member),
      whose sorted-key and complement-rank math answers membership, rank
      and the :math:`r`-th non-member.

    A row is stored as bits when its members would cost more as keys, i.e.
    above about :math:`C / 90` members. Every query is vectorised, exact
    and free of rejection loops; the ``*_unchecked`` methods take ``long``
    tensors of one shape and trust their values (see
    :class:`~torch_geometric_negsamp.region.KHopRegion` for validated
    queries).

    Build one with :meth:`from_pairs`, or block by block with
    :meth:`builder`.

    Args:
        num_rows (int): Number of rows.
        num_cols (int): Number of columns :math:`C`.
        count (torch.Tensor): Members per row, ``long`` ``[num_rows]``.
        slot (torch.Tensor): Bit row of every row, ``-1`` for key rows.
        bits (torch.Tensor): Packed bit rows, ``uint8``.
        directory (torch.Tensor): Members before each block of each bit
            row, ``int32``.
        sparse (PositiveIndex): The members of the key rows.
        storage (str, optional): The storage rule it was built with.
            (default: :obj:`"auto"`)
    """

    def __init__(
        self,
        num_rows: int,
        num_cols: int,
        count: Tensor,
        slot: Tensor,
        bits: Tensor,
        directory: Tensor,
        sparse: PositiveIndex,
        storage: str = 'auto',
    ):
        self.num_rows = num_rows
        self.num_cols = num_cols
        self.num_blocks = num_blocks(num_cols)
        self.row_bytes = self.num_blocks * BLOCK_BYTES
        self.count = count
        self.slot = slot
        self.bits = bits
        self.directory = directory
        self.sparse = sparse
        self.storage = storage
        self._has_dense = bits.size(0) > 0
        self._has_sparse = sparse.num_edges > 0
        self._views()

    def _views(self) -> None:
        self._bits_flat = self.bits.view(-1)
        self._dir_flat = self.directory.view(-1)
        self._lanes = torch.arange(BLOCK_BYTES, device=self.bits.device)

    # -------------------------------------------------------- construction
    @staticmethod
    def builder(
        num_rows: int, num_cols: int, device=None, storage: str = 'auto'
    ) -> RowSetBuilder:
        r"""A builder that takes the members of consecutive row blocks
        (``add(row0, num, local_rows, cols)``) and returns the
        set (``finish()``)."""
        return RowSetBuilder(num_rows, num_cols, device, storage)

    @classmethod
    def from_pairs(
        cls,
        rows: Tensor,
        cols: Tensor,
        num_rows: int,
        num_cols: int,
        storage: str = 'auto',
    ) -> 'HybridRowSet':
        r"""The set holding every :math:`(rows_i, cols_i)` (duplicates
        allowed).

        Args:
            rows (torch.Tensor): Row ids, 1-D.
            cols (torch.Tensor): Column ids, 1-D, as many as :obj:`rows`.
            num_rows (int): Number of rows.
            num_cols (int): Number of columns.
            storage (str, optional): :obj:`"auto"` (per row, the cheaper
                form), :obj:`"bits"` or :obj:`"ids"`. (default:
                :obj:`"auto"`)
        """
        num_rows = check_num_nodes(num_rows, 'num_rows')
        num_cols = check_num_nodes(num_cols, 'num_cols')
        check_index_tensor(rows, 'rows', dim=1)
        check_index_tensor(cols, 'cols', dim=1)
        if rows.shape != cols.shape or rows.device != cols.device:
            raise ValueError(
                f"'rows' and 'cols' must have one shape and device (got "
                f'{list(rows.shape)} on {rows.device} and '
                f'{list(cols.shape)} on {cols.device})'
            )
        check_in_range(rows, 'rows', num_rows, what='row', unit='rows')
        check_in_range(cols, 'cols', num_cols, what='column', unit='columns')
        builder = cls.builder(num_rows, num_cols, rows.device, storage)
        builder.add(0, num_rows, rows.long(), cols.long())
        return builder.finish()

    # -------------------------------------------------------------- queries
    @property
    def device(self) -> torch.device:
        return self.count.device

    @property
    def num_dense_rows(self) -> int:
        return self.bits.size(0)

    _TENSORS = ('count', 'slot', 'bits', 'directory')

    def _parts(self) -> list:
        return [self.sparse]

    def _moved(self) -> None:
        self._views()

    def contains_unchecked(self, rows: Tensor, cols: Tensor) -> Tensor:
        r""":obj:`True` where :obj:`cols` is a member of row :obj:`rows`."""
        out = torch.zeros(rows.shape, dtype=torch.bool, device=rows.device)
        if self._has_sparse:
            out = self.sparse.contains_unchecked(rows, cols)
        if self._has_dense:
            slot = self.slot[rows]
            at = slot.clamp(min=0) * self.row_bytes + (cols >> 3)
            bit = (self._bits_flat[at].long() >> (cols & 7)) & 1
            out = out | (bit.bool() & (slot >= 0))
        return out

    def rank_unchecked(self, rows: Tensor, cols: Tensor) -> Tensor:
        r"""Members of row :obj:`rows` below :obj:`cols` (``0 <= cols <=
        num_cols``)."""
        out = torch.zeros(rows.shape, dtype=torch.long, device=rows.device)
        if self._has_sparse:
            # A row's keys below t are t minus its non-members below t.
            out = cols - self.sparse.complement_rank_unchecked(rows, cols)
        if self._has_dense:
            out = out + self._chunked(self._dense_rank, rows, cols)
        return out

    def select_unchecked(self, rows: Tensor, rank: Tensor) -> Tensor:
        r"""The :obj:`rank`-th (0-based) member of row :obj:`rows`
        (``0 <= rank < count[rows]``)."""
        return self._select(rows, rank, member=True)

    def select_complement_unchecked(self, rows: Tensor, rank: Tensor):
        r"""The :obj:`rank`-th (0-based) column that is *not* a member of
        row :obj:`rows` (``0 <= rank < num_cols - count[rows]``)."""
        return self._select(rows, rank, member=False)

    def _select(self, rows: Tensor, rank: Tensor, member: bool) -> Tensor:
        out = rank
        if self._has_sparse:
            if member:
                start = self.sparse.row_bounds_unchecked(rows)[0]
                # Clamped only on lanes of bit rows (discarded below).
                at = (start + rank).clamp_(max=self.sparse.num_edges - 1)
                out = self.sparse.keys[at] - rows * self.num_cols
            else:
                out = self.sparse.complement_select_unchecked(rows, rank)
        if self._has_dense:
            dense = self._chunked(
                lambda r, k: self._dense_select(r, k, member), rows, rank
            )
            out = torch.where(self.slot[rows] >= 0, dense, out)
        return out

    # --------------------------------------------------------- bit rows
    def _chunked(self, fn, rows: Tensor, arg: Tensor) -> Tensor:
        if rows.numel() <= _CHUNK:
            return fn(rows, arg)
        flat_rows, flat_arg = rows.reshape(-1), arg.reshape(-1)
        parts = [
            fn(flat_rows[i : i + _CHUNK], flat_arg[i : i + _CHUNK])
            for i in range(0, flat_rows.numel(), _CHUNK)
        ]
        return torch.cat(parts).view(rows.shape)

    def _blocks(self, slot: Tensor, block: Tensor) -> Tensor:
        start = slot * self.row_bytes + block * BLOCK_BYTES
        return self._bits_flat[start.unsqueeze(-1) + self._lanes]

    def _dense_rank(self, rows: Tensor, cols: Tensor) -> Tensor:
        slot = self.slot[rows]
        at = slot.clamp(min=0)
        block = cols // BLOCK_BITS  # == num_blocks only for cols == C_pad
        before = self._dir_flat[at * (self.num_blocks + 1) + block].long()
        inside = rank_in_block(
            self._blocks(at, block.clamp(max=self.num_blocks - 1)),
            cols - block * BLOCK_BITS,
        )
        return torch.where(slot >= 0, before + inside, 0)

    def _dense_select(self, rows: Tensor, rank: Tensor, member: bool):
        at = self.slot[rows].clamp(min=0)
        base = at * (self.num_blocks + 1)

        def before(block: Tensor) -> Tensor:
            members = self._dir_flat[base + block].long()
            return members if member else block * BLOCK_BITS - members

        # The block of the rank: the last one with at most 'rank' members
        # (non-members) before it; binary search over the directory.
        lo = torch.zeros_like(rank)
        hi = torch.full_like(rank, self.num_blocks - 1)
        for _ in range(self.num_blocks.bit_length()):
            mid = (lo + hi + 1) >> 1
            ok = before(mid) <= rank
            lo = torch.where(ok, mid, lo)
            hi = torch.where(ok, hi, mid - 1)
        block = self._blocks(at, lo)
        if not member:
            block = torch.bitwise_not(block)
        return lo * BLOCK_BITS + select_in_block(block, rank - before(lo))

    def members_unchecked(self, start: int, end: int):
        r"""Every member of rows ``start .. end - 1``, as ``(rows, cols)``
        sorted by row, then column."""
        device = self.device
        parts = []
        if self._has_sparse:
            keys = self.sparse.keys
            bounds = torch.tensor(
                [start * self.num_cols, end * self.num_cols], device=device
            )
            lo, hi = torch.searchsorted(keys, bounds).tolist()
            parts.append(keys[lo:hi])
        if self._has_dense:
            slot = self.slot[start:end]
            rows = (slot >= 0).nonzero().view(-1)
            step = max(1, SCRATCH_BYTES // (8 * self.row_bytes))
            for i in range(0, rows.numel(), step):
                row = rows[i : i + step]
                bits = unpack_rows(self.bits[slot[row]])
                at, col = bits.nonzero().unbind(1)
                parts.append((row[at] + start) * self.num_cols + col)
        if not parts:
            empty = torch.empty(0, dtype=torch.long, device=device)
            return empty, empty
        key = torch.sort(torch.cat(parts)).values
        row = torch.div(key, self.num_cols, rounding_mode='floor')
        return row, key - row * self.num_cols

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_rows={self.num_rows}, '
            f'num_cols={self.num_cols}, members={int(self.count.sum())}, '
            f'bit_rows={self.num_dense_rows}, storage={self.storage!r}, '
            f'nbytes={self.nbytes}, device={self.device})'
        )
