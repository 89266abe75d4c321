r"""Reachability by sparse matrix powers, over blocks of source rows and
within a memory budget.

The rows of :math:`X_1 = F` (source rows of the first matrix) are
multiplied by :math:`M_1, M_2, \dots` in turn,
:math:`X_{l+1} = \mathrm{bin}(X_l M_l)`, where :math:`\mathrm{bin}` sets
every stored value to one (``torch.sparse`` multiplies matrices of
floating values only; binarising keeps the values small, and the pattern is
all that matters). Callbacks receive the rows of chosen levels.

Each product is one of two ``torch.sparse`` kernels, whichever needs less
memory for the block:

* **sparse**: :math:`X_l` and :math:`M_l` as COO tensors,
  :func:`torch.sparse.mm`; about :data:`SPARSE_BYTES` per output non-zero
  at the peak. Rows of :math:`X_l M_l` hold at most
  :math:`\min(\sum_{j \in X_l[u]} |M_l[j]|, \text{cols})` non-zeros: the
  bound the planner uses.
* **dense**: :math:`X_{l+1}^\top = M_l^\top X_l^\top` with a CSR
  :math:`M_l^\top` and a dense ``float32`` block :math:`X_l^\top` (one
  column per source row), then clamped to one; 4 bytes per entry of the
  input and output blocks. Once reach rows are dense (a quarter of the
  catalogue on Gowalla at three hops), this is both the smaller and the
  faster kernel, and deeper levels stay dense.

Why not the CSR @ CSR product: in torch 2.13 on a CPU (MKL), every
``csr @ csr`` leaks about 8 bytes per output non-zero (measured: 50 MB per
product of 6.5M non-zeros, never returned); over a Gowalla build that is
gigabytes. The COO kernel does not leak (it took 1.5 times as long as
the CSR one for three-hop blocks of Gowalla); neither does CSR @ dense.
``torch_sparse`` (0.6.18) multiplies two sparse tensors by converting them
to ``torch`` COO and calling :func:`torch.sparse.mm`: the same kernel, so
it is not used.

The computation is depth first: a block's product is split into row chunks
whose cost fits the budget, and each chunk goes down to the last level
before the next chunk is computed, so no level holds a whole block's
products. ``reserve[l]`` is what levels ``l ..`` need for one source row at
worst; a chunk at level ``l`` may use the budget minus what the levels
above hold minus ``reserve[l + 2]``, so that one row always fits below.
Every product's footprint (held levels above plus its own cost at its
actual size) is recorded in ``stats``.
"""

import warnings
from typing import Callable, Dict, List, NamedTuple, Optional

import torch
from torch import Tensor

#: Default budget (bytes) of the products' working memory.
DEFAULT_MEMORY_BUDGET = 3 * 2**28

#: Peak bytes of a COO product per output non-zero, output included
#: (measured about 19 on a CPU; the held output costs 20: int64 row and
#: column, float32 value).
SPARSE_BYTES = 40
#: Bytes per entry of a dense block.
DENSE_BYTES = 4
#: Bytes per source row whatever the kernel (row pointers, counts).
ROW_BYTES = 64
#: Extra bytes per multiply-add of a sparse product on CUDA (cuSPARSE's
#: SpGEMM buffers grow with the intermediate products).
CUDA_FLOP_BYTES = 16


class Emit(NamedTuple):
    r"""A callback on the rows of one level, and its scratch: per non-zero
    of a sparse block (``pair_bytes``); per row of a group of at most
    ``group_rows`` bit rows (``row_bytes``); per row of a dense block
    (``dense_row_bytes``)."""

    fn: Callable[[int, Optional[Tensor], Optional[Tensor]], None]
    pair_bytes: int
    row_bytes: int
    group_rows: int
    dense_row_bytes: int


def _csr(crow, col, value, shape) -> Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # "CSR support is in beta state"
        return torch.sparse_csr_tensor(
            crow, col, value, shape, check_invariants=False
        )


def _coo(index, value, shape) -> Tensor:
    return torch.sparse_coo_tensor(
        index, value, shape, is_coalesced=True, check_invariants=False
    )


def csr_from_pairs(
    rows: Tensor, cols: Tensor, num_rows: int, num_cols: int
) -> Tensor:
    r"""The binary ``float32`` CSR matrix with a one at every
    :math:`(rows_i, cols_i)` (duplicates merged)."""
    key = torch.unique(rows.long() * num_cols + cols.long())
    row = torch.div(key, num_cols, rounding_mode='floor')
    crow = torch.zeros(num_rows + 1, dtype=torch.long, device=key.device)
    torch.cumsum(torch.bincount(row, minlength=num_rows), 0, out=crow[1:])
    col = key - row * num_cols
    value = torch.ones(col.numel(), device=key.device)
    return _csr(crow, col, value, (num_rows, num_cols))


def csr_to_coo(matrix: Tensor) -> Tensor:
    crow = matrix.crow_indices()
    row = torch.repeat_interleave(
        torch.arange(crow.numel() - 1, device=crow.device), crow.diff()
    )
    index = torch.stack([row, matrix.col_indices().long()])
    return _coo(index, matrix.values(), matrix.shape)


def _row_slice(x: Tensor, start: int, end: int) -> Tensor:
    r"""Rows ``start .. end - 1`` of a coalesced COO matrix (renumbered
    from zero)."""
    index = x.indices()
    bounds = torch.tensor([start, end], device=index.device)
    lo, hi = torch.searchsorted(index[0], bounds).tolist()
    part = index[:, lo:hi] - torch.tensor([[start], [0]], device=index.device)
    return _coo(part, x.values()[lo:hi], (end - start, x.size(1)))


def _bytes(*tensors: Tensor) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


class BlockedPowers:
    r"""Runs the depth-first blocked products (see the module docstring).

    Args:
        first (torch.Tensor): CSR matrix :math:`F` whose rows are the
            sources (level 1).
        mats (list of torch.Tensor): CSR matrices :math:`M_1, M_2, \dots`.
        mats_t (list of torch.Tensor): Their transposes, CSR.
        emits (dict): Level (``2 .. len(mats) + 1``) -> :class:`Emit`.
        memory_budget (int): Bytes the products may hold at once.
        block_size (int, optional): Most source rows per product.
        kernel (str, optional): :obj:`"auto"` (per block, the kernel that
            needs less memory), :obj:`"sparse"` or :obj:`"dense"`.
    """

    def __init__(
        self,
        first: Tensor,
        mats: List[Tensor],
        mats_t: List[Tensor],
        emits: Dict[int, Emit],
        memory_budget: int,
        block_size: Optional[int] = None,
        kernel: str = 'auto',
    ):
        self.kernel = kernel
        self.first = csr_to_coo(first)
        self.mats = [csr_to_coo(m) for m in mats]
        self.mats_t = mats_t
        self.emits = emits
        self.budget = memory_budget
        self.block_size = block_size
        self.levels = len(mats) + 1
        self.flop_bytes = CUDA_FLOP_BYTES if first.is_cuda else 0
        self.degrees = [m.crow_indices().diff() for m in mats]
        self.cols = [0, first.size(1)] + [m.size(1) for m in mats]
        self.reserve = [0] * (self.levels + 2)
        for level in range(self.levels, 1, -1):
            # One row at worst: full output and input rows, every non-zero
            # of the matrix touched.
            out, inp = self.cols[level], self.cols[level - 1]
            sparse = self._sparse_cost(
                level,
                torch.tensor([out]),
                torch.tensor([2**62]),
                torch.tensor([inp]),
            )
            dense = self._dense_cost(level, 1)
            self.reserve[level] = max(int(sparse), dense)
            self.reserve[level] += self.reserve[level + 1]
        self.stats = {
            'memory_budget': memory_budget,
            'min_memory_budget': self.reserve[2],
            'products': 0,
            'dense_products': 0,
            'peak_bytes': 0,
            'largest_product_rows': 0,
            'largest_product_bytes': 0,
        }

    @property
    def min_budget(self) -> int:
        return self.reserve[2]

    # --------------------------------------------------------- cost model
    def _sparse_cost(self, out_level, bound, flops, nnz_in) -> Tensor:
        r"""Per-row bytes of a sparse product into :obj:`out_level`: the
        output bound, the copy of the input rows, the flop buffers."""
        mat = self.mats[out_level - 2].values().numel()
        cost = SPARSE_BYTES * bound + 20 * nnz_in + ROW_BYTES
        cost = cost + self.flop_bytes * flops.clamp(max=mat)
        emit = self.emits.get(out_level)
        if emit is not None:
            cost = cost + emit.pair_bytes * bound + emit.row_bytes
        return cost

    def _dense_cost(self, out_level: int, rows: int) -> int:
        r"""Bytes of a dense product of :obj:`rows` rows into
        :obj:`out_level`: the input block, the output block and its
        binarised copy."""
        width = self.cols[out_level - 1] + 2 * self.cols[out_level]
        cost = DENSE_BYTES * width + ROW_BYTES
        emit = self.emits.get(out_level)
        if emit is not None:
            cost += emit.dense_row_bytes
        return rows * cost

    # ------------------------------------------------------------ driver
    def run(self) -> Dict[str, int]:
        self._descend(self.first, None, 1, 0, 0)
        return self.stats

    def _chunks(self, cost: Tensor, allowed: int):
        r"""Greedy row chunks of at most :obj:`allowed` bytes of ``cost``
        per row (and at most ``block_size`` rows)."""
        n = cost.numel()
        cum = torch.zeros(n + 1, dtype=torch.long)
        torch.cumsum(cost.cpu(), 0, out=cum[1:])
        cap = self.block_size or n
        start = 0
        while start < n:
            limit = torch.tensor(allowed + int(cum[start]))
            end = int(torch.searchsorted(cum, limit, right=True)) - 1
            end = min(end, n, start + cap)
            if end <= start:  # the reserves make this unreachable
                raise RuntimeError(
                    'internal error: no source row fits the memory budget'
                )
            yield start, end
            start = end

    def _descend(self, x, x_t, level: int, row0: int, alive: int):
        r"""``x``: the rows of ``level`` as COO (sparse), or ``x_t``: their
        transpose as a dense block."""
        if level in self.emits:
            self.emits[level].fn(row0, x, x_t)
        if level == self.levels:
            return
        nxt = level + 1
        allowed = self.budget - alive - self.reserve[nxt + 1]
        if x is not None:
            rows = x.size(0)
            index = x.indices()
            count = torch.bincount(index[0], minlength=rows)
            degree = self.degrees[level - 1][index[1]]
            flops = torch.zeros(rows, dtype=torch.long, device=x.device)
            flops.index_add_(0, index[0], degree)
            del degree
            bound = flops.clamp(max=self.cols[nxt])
            sparse = self._sparse_cost(nxt, bound, flops, count)
            dense = self._dense_cost(nxt, 1)
            use_dense = self.kernel == 'dense' or (
                self.kernel == 'auto' and dense * rows < int(sparse.sum())
            )
            cost = torch.full_like(sparse, dense) if use_dense else sparse
        else:
            rows = x_t.size(1)
            flops, use_dense = None, True
            cost = torch.full((rows,), self._dense_cost(nxt, 1))
        for start, end in self._chunks(cost, allowed):
            if use_dense:
                y, y_t = None, self._dense_product(x, x_t, level, start, end)
                held = _bytes(y_t)
            else:
                y, y_t = self._sparse_product(x, level, start, end), None
                held = _bytes(y.indices(), y.values())
            footprint = alive + int(cost[start:end].sum())
            if not use_dense:
                # The sparse cost at the actual output size.
                nnz = y.values().numel()
                footprint -= int(SPARSE_BYTES * bound[start:end].sum())
                footprint += SPARSE_BYTES * nnz
                emit = self.emits.get(nxt)
                if emit is not None:
                    footprint -= int(emit.pair_bytes * bound[start:end].sum())
                    footprint += emit.pair_bytes * nnz
            stats = self.stats
            stats['products'] += 1
            stats['dense_products'] += int(use_dense)
            stats['peak_bytes'] = max(stats['peak_bytes'], footprint)
            if held > stats['largest_product_bytes']:
                stats['largest_product_bytes'] = held
                stats['largest_product_rows'] = end - start
            self._descend(y, y_t, nxt, row0 + start, alive + held)
            del y, y_t

    def _sparse_product(self, x: Tensor, level: int, start: int, end: int):
        part = x if (start, end) == (0, x.size(0)) else None
        if part is None:
            part = _row_slice(x, start, end)
        y = torch.sparse.mm(part, self.mats[level - 1]).coalesce()
        y.values().fill_(1.0)
        return y

    def _dense_product(self, x, x_t, level: int, start: int, end: int):
        rows = end - start
        if x is not None:
            part = _row_slice(x, start, end).indices()
            x_t = torch.zeros(
                (x.size(1), rows), dtype=torch.float32, device=x.device
            )
            x_t[part[1], part[0]] = 1.0
            del part
        elif (start, end) != (0, x_t.size(1)):
            x_t = x_t[:, start:end].contiguous()
        y_t = torch.sparse.mm(self.mats_t[level - 1], x_t)
        return y_t.clamp_(max=1.0)
