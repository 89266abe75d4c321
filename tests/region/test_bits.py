import torch

from torch_geometric_negsamp.region._bits import (
    block_counts,
    block_counts_of_words,
    column_word_counts,
    or_pairs,
    pack_columns,
    pack_rows,
    packed_ranks,
    popcount8,
    rank_in_block,
    select_in_block,
    select_table,
    unpack_rows,
)


def test_popcount_and_select_tables():
    byte = torch.arange(256, dtype=torch.uint8)
    assert popcount8(byte).tolist() == [bin(b).count('1') for b in range(256)]
    table = select_table('cpu')
    for b in range(256):
        ones = [p for p in range(8) if b >> p & 1]
        assert table[b].tolist() == ones + [8] * (8 - len(ones))


def _bits(n=5, cols=1500, seed=0):
    gen = torch.Generator().manual_seed(seed)
    density = torch.rand(n, 1, generator=gen)
    return torch.rand(n, cols, generator=gen) < density


def test_pack_round_trips():
    dense = _bits()
    padded = torch.zeros(5, 1536, dtype=torch.bool)
    padded[:, :1500] = dense
    packed = pack_rows(padded)
    assert packed.shape == (5, 192)
    # Column c in bit c & 7 of byte c >> 3.
    assert packed[0, 3].item() == sum(
        int(padded[0, 24 + b]) << b for b in range(8)
    )
    assert torch.equal(unpack_rows(packed), padded)
    # The transposed float layout packs to the same bytes.
    assert torch.equal(pack_columns(dense.t().float(), 192), packed)
    counts = block_counts(packed)
    assert counts.tolist() == [
        [int(padded[r, i * 512 : (i + 1) * 512].sum()) for i in range(3)]
        for r in range(5)
    ]
    words = column_word_counts(dense.t().float(), 24)
    assert words[:, 2].tolist() == [
        int(padded[2, i * 64 : (i + 1) * 64].sum()) for i in range(24)
    ]
    assert torch.equal(block_counts_of_words(words), counts)


def test_ranks_and_selects_in_blocks():
    dense = _bits(4, 512, seed=1)
    block = pack_rows(dense)  # one 64-byte block per row
    for r in range(4):
        members = dense[r].nonzero().view(-1).tolist()
        offset = torch.arange(513)
        rank = rank_in_block(block[r].expand(513, -1), offset)
        assert rank.tolist() == [
            sum(m < t for m in members) for t in range(513)
        ]
        if members:
            sel = select_in_block(
                block[r].expand(len(members), -1), torch.arange(len(members))
            )
            assert sel.tolist() == members


def test_packed_ranks_and_or_pairs():
    dense = _bits(6, 700, seed=2)
    padded = torch.zeros(6, 1024, dtype=torch.bool)
    padded[:, :700] = dense
    packed = pack_rows(padded)
    words = column_word_counts(dense.t().float(), 16)
    rows, cols = dense.nonzero().unbind(1)
    rank = packed_ranks(packed, words, rows, cols)
    expect = [int(dense[r, :c].sum()) for r, c in zip(rows, cols)]
    assert rank.tolist() == expect

    # Setting bits (one twice, one already set) reports the new ones.
    unset = (~dense).nonzero()[:3]
    new_rows = torch.cat([unset[:, 0], unset[:1, 0], rows[:1]])
    new_cols = torch.cat([unset[:, 1], unset[:1, 1], cols[:1]])
    got_rows, got_cols = or_pairs(packed, new_rows, new_cols)
    assert sorted(zip(got_rows.tolist(), got_cols.tolist())) == sorted(
        map(tuple, unset.tolist())
    )
    padded[unset[:, 0], unset[:, 1]] = True
    assert torch.equal(unpack_rows(packed), padded)
    empty = torch.empty(0, dtype=torch.long)
    assert or_pairs(packed, empty, empty)[0].numel() == 0
