import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_geometric_negsamp.region import (
    HybridRowSet,
    _builder,
    hybrid_row_set,
)

CUDA = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device'
)


def _check_against(members, rows, num_cols, storage, device='cpu'):
    r"""Every query of a set built from the boolean matrix ``members``
    (rows x cols) against that matrix, written out with Python sets."""
    row, col = members.nonzero().unbind(1)
    # Duplicate pairs are allowed: feed every pair twice.
    s = HybridRowSet.from_pairs(
        torch.cat([row, row]).to(device),
        torch.cat([col, col]).to(device),
        rows,
        num_cols,
        storage,
    )
    table = [set(members[u].nonzero().view(-1).tolist()) for u in range(rows)]
    assert s.count.tolist() == [len(t) for t in table]
    r = torch.arange(rows).repeat_interleave(num_cols).to(device)
    c = torch.arange(num_cols).repeat(rows).to(device)
    got = s.contains_unchecked(r, c).view(rows, num_cols).cpu()
    assert torch.equal(got, members)
    for u, t in enumerate(table):
        inside = sorted(t)
        outside = sorted(set(range(num_cols)) - t)
        uu = torch.full((num_cols + 1,), u, device=device)
        rank = s.rank_unchecked(uu, torch.arange(num_cols + 1, device=device))
        assert rank.tolist() == [
            sum(v < x for v in inside) for x in range(num_cols + 1)
        ]
        if inside:
            sel = s.select_unchecked(
                uu[: len(inside)], torch.arange(len(inside), device=device)
            )
            assert sel.tolist() == inside
        if outside:
            sel = s.select_complement_unchecked(
                uu[: len(outside)], torch.arange(len(outside), device=device)
            )
            assert sel.tolist() == outside
        mrow, mcol = s.members_unchecked(u, u + 1)
        assert mcol.tolist() == inside and set(mrow.tolist()) <= {u}
    mrow, mcol = s.members_unchecked(0, rows)
    assert torch.equal(
        torch.stack([mrow, mcol]).cpu(), torch.stack([row, col])
    )
    return s


@pytest.mark.parametrize('storage', ['auto', 'bits', 'ids'])
@pytest.mark.parametrize('num_cols', [1, 7, 511, 512, 513, 1100])
def test_queries_match_python_sets(storage, num_cols):
    gen = torch.Generator().manual_seed(num_cols)
    rows = 6
    density = torch.tensor([0.0, 1.0, 0.02, 0.3, 0.7, 0.5]).view(-1, 1)
    members = torch.rand(rows, num_cols, generator=gen) < density
    s = _check_against(members, rows, num_cols, storage)
    assert s.storage == storage
    if storage == 'ids':
        assert s.num_dense_rows == 0
    if storage == 'bits':
        # Every non-empty row is a bit row; the empty one is not.
        assert s.num_dense_rows == int((members.sum(1) > 0).sum())


def test_auto_storage_picks_the_cheaper_form():
    num_cols = 4096  # a bit row: 512 bytes + 4 * 9 directory bytes = 548
    members = torch.zeros(3, num_cols, dtype=torch.bool)
    members[0, :46] = True  # 46 * 12 = 552 bytes as keys: bits are cheaper
    members[1, :45] = True  # 540 bytes as keys: keys are cheaper
    s = HybridRowSet.from_pairs(*members.nonzero().unbind(1), 3, num_cols)
    assert s.slot.tolist() == [0, -1, -1]
    assert s.sparse.num_edges == 45


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 6),
    num_cols=st.integers(1, 700),
    seed=st.integers(0, 2**31),
    storage=st.sampled_from(['auto', 'bits', 'ids']),
)
def test_random_sets(rows, num_cols, seed, storage):
    gen = torch.Generator().manual_seed(seed)
    density = torch.rand(rows, 1, generator=gen)
    members = torch.rand(rows, num_cols, generator=gen) < density
    _check_against(members, rows, num_cols, storage)


def test_several_groups_of_bit_rows(monkeypatch):
    # A scratch of 128 bytes holds two bit rows of 64 bytes: the builder
    # and the enumeration then cut the rows into groups.
    monkeypatch.setattr(_builder, 'SCRATCH_BYTES', 8 * 128)
    monkeypatch.setattr(hybrid_row_set, 'SCRATCH_BYTES', 8 * 128)
    gen = torch.Generator().manual_seed(0)
    members = torch.rand(7, 300, generator=gen) < 0.5
    s = _check_against(members, 7, 300, 'bits')
    assert s.num_dense_rows == 7
    builder = HybridRowSet.builder(7, 300, storage='auto')
    assert builder.group_rows == 2


def test_builder_packed_rows_mixed_forms():
    from torch_geometric_negsamp.region._bits import pack_columns

    members = torch.zeros(4, 600, dtype=torch.bool)
    members[0, ::2] = True  # dense
    members[2, 5] = True  # sparse
    members[3, 599] = True
    builder = HybridRowSet.builder(6, 600)
    builder.add_packed(1, pack_columns(members.t().float(), 128))
    s = builder.finish()
    assert s.count.tolist() == [0, 300, 0, 1, 1, 0]
    assert s.slot.tolist() == [-1, 0, -1, -1, -1, -1]
    rows, cols = s.members_unchecked(0, 6)
    expect = members.nonzero()
    assert torch.equal(torch.stack([rows - 1, cols], 1), expect)


def test_empty_set_and_nbytes():
    s = HybridRowSet.from_pairs(
        torch.empty(0, dtype=torch.long),
        torch.empty(0, dtype=torch.long),
        3,
        5,
    )
    assert s.count.tolist() == [0, 0, 0]
    assert not s.contains_unchecked(torch.tensor([0]), torch.tensor([4]))[0]
    # Every column is a non-member of an empty row.
    out = s.select_complement_unchecked(torch.full((5,), 2), torch.arange(5))
    assert out.tolist() == [0, 1, 2, 3, 4]
    expected = sum(
        t.numel() * t.element_size()
        for t in (s.count, s.slot, s.bits, s.directory)
    )
    assert s.nbytes == expected + s.sparse.nbytes
    assert 'num_rows=3' in repr(s) and "storage='auto'" in repr(s)


def test_large_batches_are_chunked():
    gen = torch.Generator().manual_seed(1)
    members = torch.rand(3, 700, generator=gen) < 0.6
    s = HybridRowSet.from_pairs(*members.nonzero().unbind(1), 3, 700, 'bits')
    n = hybrid_row_set._CHUNK + 5
    rows = torch.randint(0, 3, (n,), generator=gen)
    count = s.count[rows]
    rank = (torch.rand(n, generator=gen) * count).long()
    sel = s.select_unchecked(rows, rank)
    assert bool(members[rows, sel].all())
    assert torch.equal(s.rank_unchecked(rows, sel), rank)


def test_from_pairs_errors():
    r = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="'num_rows'"):
        HybridRowSet.from_pairs(r, r, 0, 3)
    with pytest.raises(TypeError, match="'rows' must hold integer ids"):
        HybridRowSet.from_pairs(r.float(), r, 2, 3)
    with pytest.raises(ValueError, match="'cols' must have 1 dimension"):
        HybridRowSet.from_pairs(r, r.view(1, 2), 2, 3)
    with pytest.raises(ValueError, match='one shape and device'):
        HybridRowSet.from_pairs(r, torch.tensor([0]), 2, 3)
    with pytest.raises(ValueError, match="'rows' holds row 1, out of range"):
        HybridRowSet.from_pairs(r, r, 1, 3)
    with pytest.raises(ValueError, match="'cols' holds column 1"):
        HybridRowSet.from_pairs(r, r, 2, 1)
    with pytest.raises(ValueError, match="'storage' must be one of"):
        HybridRowSet.from_pairs(r, r, 2, 3, storage='dense')


def test_share_memory_and_to():
    members = torch.rand(3, 600) < 0.5
    s = HybridRowSet.from_pairs(*members.nonzero().unbind(1), 3, 600)
    s.share_memory_()
    assert s.bits.is_shared() and s.sparse.keys.is_shared()
    s.to('cpu')
    got = s.contains_unchecked(
        torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7])
    )
    assert torch.equal(got, members[[0, 1, 2], [5, 6, 7]])


@CUDA
@pytest.mark.parametrize('storage', ['auto', 'bits', 'ids'])
def test_cuda(storage):
    gen = torch.Generator().manual_seed(3)
    members = torch.rand(5, 900, generator=gen) < torch.rand(
        5, 1, generator=gen
    )
    s = _check_against(members, 5, 900, storage, device='cuda')
    assert s.device.type == 'cuda'
    s.to('cpu')
    assert s.bits.device.type == 'cpu'
