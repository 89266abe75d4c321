r"""Bit rows: packing, and rank / select inside one 512-bit block.

PyTorch has no popcount and no packed-bit type, so bit rows are ``uint8``
tensors (bit ``c & 7`` of byte ``c >> 3`` holds column ``c``), popcount is
computed with ``uint8`` bit arithmetic and select-in-byte is a 256-entry
lookup table. A row is padded to whole
blocks of :data:`BLOCK_BYTES` bytes; a per-block directory of member counts
(kept by :class:`~torch_geometric_negsamp.region.HybridRowSet`) finds the
block of a rank, and the functions here finish inside that block with one
gather of :data:`BLOCK_BYTES` bytes per query.
"""

from typing import Dict

import torch
from torch import Tensor

#: Bytes per block of a bit row (the directory holds one count per block).
BLOCK_BYTES = 64
#: Bits per block.
BLOCK_BITS = 8 * BLOCK_BYTES

_SELECT: Dict[torch.device, Tensor] = {}


def select_table(device) -> Tensor:
    r"""``[256, 8]`` on :obj:`device`: entry ``[b, r]`` is the position of
    the ``r``-th set bit of byte ``b`` (8 when it has none)."""
    device = torch.device(device)
    if device not in _SELECT:
        byte = torch.arange(256).view(-1, 1)
        cum = ((byte >> torch.arange(8)) & 1).cumsum(1)  # [256, 8]
        # The r-th set bit sits where r more set bits came before it: the
        # number of positions p whose inclusive count is at most r.
        select = (cum.unsqueeze(1) <= torch.arange(8).view(1, 8, 1)).sum(2)
        _SELECT[device] = select.to(device)
    return _SELECT[device]


def num_blocks(num_cols: int) -> int:
    r"""Blocks per bit row of :obj:`num_cols` columns (at least one)."""
    return max(1, -(-num_cols // BLOCK_BITS))


def pack_rows(dense: Tensor) -> Tensor:
    r"""Packs a boolean ``[n, 8 * m]`` tensor into ``uint8`` ``[n, m]``
    (column ``c`` in bit ``c & 7`` of byte ``c >> 3``)."""
    out = dense[:, 0::8].to(torch.uint8)
    for bit in range(1, 8):
        out |= dense[:, bit::8].to(torch.uint8) << bit
    return out


def popcount8(bits: Tensor) -> Tensor:
    r"""Set bits of every ``uint8`` entry, computed in ``uint8`` (no
    widening: the bit rows may be large)."""
    x = bits - ((bits >> 1) & 0x55)
    x = (x & 0x33) + ((x >> 2) & 0x33)
    return (x + (x >> 4)) & 0x0F


def block_counts(bits: Tensor) -> Tensor:
    r"""Members per block of packed rows ``[n, blocks * BLOCK_BYTES]``, as
    ``int32`` ``[n, blocks]``."""
    n = bits.size(0)
    return popcount8(bits).view(n, -1, BLOCK_BYTES).sum(-1, dtype=torch.int32)


def pack_columns(block_t: Tensor, row_bytes: int) -> Tensor:
    r"""Packs a binary floating ``[C, n]`` block (one *column* per row,
    entries 0 or 1) into ``uint8`` bit rows ``[n, row_bytes]``.

    Each byte is the dot product of eight entries with
    :math:`(1, 2, \dots, 128)`: one batched matrix product reads the block
    once in its own layout (no transposed copy); sums of distinct powers of
    two up to 255 are exact in any floating precision a product may use.
    """
    size, n = block_t.shape
    full = size // 8
    out = torch.zeros((n, row_bytes), dtype=torch.uint8, device=block_t.device)
    if full > 0:
        weight = 2.0 ** torch.arange(8, device=block_t.device)
        grouped = block_t[: 8 * full].view(full, 8, n)
        out[:, :full] = torch.matmul(weight.to(block_t.dtype), grouped).t()
    for bit in range(size - 8 * full):
        row = block_t[8 * full + bit].to(torch.uint8)
        out[:, full] |= row << bit
    return out


def column_word_counts(block_t: Tensor, words: int) -> Tensor:
    r"""Members per 64-bit word of every column of a binary floating
    ``[C, n]`` block, as ``int32`` ``[words, n]`` (sums of at most 64
    ones: exact; words past the block are zero)."""
    size, n = block_t.shape
    full = size // 64
    counts = torch.zeros((words, n), dtype=torch.int32, device=block_t.device)
    if full > 0:
        counts[:full] = block_t[: full * 64].view(full, 64, n).sum(1)
    if size > full * 64:
        counts[full] = block_t[full * 64 :].sum(0)
    return counts


def block_counts_of_words(word_counts: Tensor) -> Tensor:
    r"""Members per block (``int32`` ``[n, blocks]``) from the members per
    word of :func:`column_word_counts`."""
    words, n = word_counts.shape
    per_block = BLOCK_BYTES // 8
    grouped = word_counts.view(words // per_block, per_block, n)
    return grouped.sum(1, dtype=torch.int32).t()


def or_pairs(bits: Tensor, rows: Tensor, cols: Tensor):
    r"""Sets, in place, the bits :math:`(rows_i, cols_i)` of packed rows
    ``[n, m]`` (duplicate pairs allowed); returns the pairs ``(rows,
    cols)`` whose bit was not set before."""
    if rows.numel() == 0:
        return rows, cols
    width = 8 * bits.size(1)
    key = torch.unique(rows * width + cols)
    byte, inverse = torch.unique_consecutive(key >> 3, return_inverse=True)
    flat = bits.view(-1)
    bit = 1 << (key & 7)
    new = (flat[key >> 3].long() & bit) == 0
    # Distinct bits of one byte: their sum is their bitwise or.
    value = torch.zeros(byte.numel(), dtype=torch.int32, device=bits.device)
    value.index_add_(0, inverse, bit.int())
    flat[byte] |= value.to(torch.uint8)
    key = key[new]
    row = torch.div(key, width, rounding_mode='floor')
    return row, key - row * width


def unpack_rows(bits: Tensor) -> Tensor:
    r"""Boolean ``[n, 8 * m]`` of packed ``uint8`` rows ``[n, m]``."""
    shift = torch.arange(8, dtype=torch.uint8, device=bits.device)
    return ((bits.unsqueeze(-1) >> shift) & 1).bool().view(bits.size(0), -1)


def select_in_block(block: Tensor, rank: Tensor) -> Tensor:
    r"""The offset (in bits, from the block start) of the :obj:`rank`-th set
    bit of every block in :obj:`block` ``[..., BLOCK_BYTES]`` (``uint8``);
    ``0 <= rank <`` the block's count. Lanes with a rank out of range get
    an offset inside the block that means nothing (callers discard them)."""
    select = select_table(block.device)
    pop = popcount8(block)
    cum = pop.cumsum(-1, dtype=torch.int16)
    byte = (cum <= rank.unsqueeze(-1)).sum(-1)
    # A byte index of BLOCK_BYTES only occurs on discarded lanes; keep
    # their gathers in bounds.
    byte = byte.clamp_(max=BLOCK_BYTES - 1).unsqueeze(-1)
    before = cum.gather(-1, byte).long() - pop.gather(-1, byte).long()
    value = block.gather(-1, byte).squeeze(-1).long()
    within = (rank - before.squeeze(-1)).clamp_(0, 7)
    return byte.squeeze(-1) * 8 + select[value, within]


def rank_in_block(block: Tensor, offset: Tensor) -> Tensor:
    r"""Set bits of every block in :obj:`block` ``[..., BLOCK_BYTES]`` that
    lie before bit :obj:`offset` (``0 <= offset <= BLOCK_BITS``)."""
    byte = offset >> 3
    lanes = torch.arange(BLOCK_BYTES, device=block.device)
    pop = popcount8(block) * (lanes < byte.unsqueeze(-1))
    full = pop.sum(-1, dtype=torch.long)
    # The partial byte: an offset of BLOCK_BITS has no partial byte (its
    # mask is empty), so the gather index may stay in bounds.
    last = block.gather(
        -1, byte.clamp(max=BLOCK_BYTES - 1).unsqueeze(-1)
    ).squeeze(-1)
    mask = ((1 << (offset & 7)) - 1).to(torch.uint8)
    return full + popcount8(last & mask).long()


def packed_ranks(
    bits: Tensor, word_counts: Tensor, rows: Tensor, cols: Tensor
) -> Tensor:
    r"""The rank of every member :math:`(rows_i, cols_i)` of packed rows
    ``[n, m]`` whose members per 64-bit word are :obj:`word_counts`
    ``[m / 8, n]``: the members of the words before its own, plus those
    before it in its word (eight bytes)."""
    word = cols >> 6
    before = word_counts.cumsum(0, dtype=torch.long) - word_counts
    lanes = torch.arange(8, device=bits.device)
    inside = bits[rows.unsqueeze(-1), (word * 8).unsqueeze(-1) + lanes]
    full = popcount8(inside) * (lanes < ((cols >> 3) & 7).unsqueeze(-1))
    last = bits[rows, cols >> 3] & ((1 << (cols & 7)) - 1).to(torch.uint8)
    return (
        before[word, rows]
        + full.sum(-1, dtype=torch.long)
        + popcount8(last).long()
    )
