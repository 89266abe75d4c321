r"""Scoring candidates in blocks: the one home of the block size and of the
gathers that DENS, MixGCF and the training strategies score their candidate
items with."""

from typing import Iterator

import torch
from torch import Tensor

#: The entries of one block of a selector's per-candidate temporaries
#: (``[b, k, M, ...]``; 1 MiB of float32). Gathering every candidate's
#: embedding for the whole batch at once writes and re-reads hundreds of
#: MiB a step (2,048 x 8 x 64 x 64 floats for MixGCF with 8 negatives of 64
#: candidates); in blocks that fit a CPU's cache the same elementwise
#: steps run 2 to 6 times faster, with bit-identical results
#: (:obj:`benchmarks/bench_selection.py`). A GPU, with its bandwidth and
#: its per-kernel launch cost, takes the whole batch as one block.
BLOCK_ELEMENTS = 1 << 18


def row_blocks(
    rows: int, per_row: int, device: torch.device
) -> Iterator[slice]:
    r"""Slices of :obj:`rows` rows, each of about :obj:`BLOCK_ELEMENTS`
    entries at :obj:`per_row` entries a row (at least one row a block) on
    the CPU; one slice of all rows on another device."""
    if device.type != 'cpu':
        yield slice(0, rows)
        return
    step = max(1, BLOCK_ELEMENTS // max(1, per_row))
    for start in range(0, rows, step):
        yield slice(start, min(rows, start + step))


def gather_rows(table: Tensor, ids: Tensor) -> Tensor:
    r"""``table[ids]`` for a 2-D or 3-D :obj:`table` (one
    :meth:`~torch.Tensor.index_select`, faster than advanced indexing on
    the CPU)."""
    return table.index_select(0, ids.reshape(-1)).view(
        ids.shape + table.shape[1:]
    )


def candidate_scores(user_rows: Tensor, items: Tensor, cand: Tensor) -> Tensor:
    r"""The scores ``[B, *]`` (inner products, without autograd) of the
    candidates :obj:`cand` ``[B, *]`` (rows of :obj:`items` ``[I, d]``)
    for the users whose embeddings are :obj:`user_rows` ``[B, d]``; equal,
    bit for bit, to ``(user_rows[:, None, ..., None, :] * items[cand])
    .sum(-1)``, computed in blocks of :func:`row_blocks`."""
    lead = (1,) * (cand.dim() - 1)
    with torch.no_grad():
        items = items.detach()
        user_rows = user_rows.detach()
        parts = [
            gather_rows(items, cand[rows])
            .mul_(user_rows[rows].view(-1, *lead, user_rows.size(-1)))
            .sum(-1)
            for rows in row_blocks(
                cand.size(0), cand[:1].numel() * items.size(-1), cand.device
            )
        ]
        return (
            torch.cat(parts)
            if parts
            else cand.new_zeros(cand.shape, dtype=items.dtype)
        )
