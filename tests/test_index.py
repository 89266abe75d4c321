import pytest
import torch

from torch_geometric_negsamp import PositiveIndex


def _edge_index():
    # 3 sources x 4 destinations
    return torch.tensor([[0, 0, 1, 1, 2, 0], [1, 3, 0, 1, 3, 1]])


def test_contains_and_degree():
    index = PositiveIndex(_edge_index(), 3, 4)
    assert index.num_edges == 5  # the duplicate (0, 1) is stored once
    src = torch.tensor([0, 0, 1, 2, 2])
    dst = torch.tensor([1, 2, 0, 0, 3])
    assert index.contains(src, dst).tolist() == [
        True,
        False,
        True,
        False,
        True,
    ]
    assert index.degree().tolist() == [2, 2, 1]
    assert index.degree(torch.tensor([2, 0])).tolist() == [1, 2]
    assert index.num_candidates(torch.tensor([1])).tolist() == [2]
    # Broadcasting [B, 1] x [B, k]:
    out = index.contains(
        torch.tensor([[0], [2]]), torch.tensor([[1, 2, 3], [1, 2, 3]])
    )
    assert out.tolist() == [[True, False, True], [False, False, True]]


def test_neighbors():
    index = PositiveIndex(_edge_index(), 3, 4)
    batch, dst = index.neighbors(torch.tensor([2, 0, 2]))
    assert batch.tolist() == [0, 1, 1, 2]
    assert dst.tolist() == [3, 1, 3, 3]


def test_undirected_exclude_self_and_extra():
    edge_index = torch.tensor([[0, 1], [1, 2]])
    index = PositiveIndex(
        edge_index,
        4,
        undirected=True,
        exclude_self=True,
        extra_positives=[torch.tensor([[3], [0]])],
    )
    dense = torch.zeros(4, 4, dtype=torch.bool)
    for u in range(4):
        dense[u] = index.contains(torch.full((4,), u), torch.arange(4))
    # Self-loops, both directions of the edges and of the extra positive:
    expected = torch.eye(4, dtype=torch.bool)
    for u, v in [(0, 1), (1, 2), (3, 0)]:
        expected[u, v] = expected[v, u] = True
    assert torch.equal(dense, expected)


def test_sample_complement_is_exact_and_uniform():
    index = PositiveIndex(_edge_index(), 3, 4)
    gen = torch.Generator().manual_seed(0)
    src = torch.tensor([0, 1, 2]).repeat_interleave(3000)
    out = index.sample_complement(src, gen)
    assert not index.contains(src, out).any()
    from scipy.stats import chisquare

    for u, allowed in [(0, [0, 2]), (1, [2, 3]), (2, [0, 1, 2])]:
        counts = torch.bincount(out[src == u], minlength=4)
        assert counts[[v for v in range(4) if v not in allowed]].sum() == 0
        assert chisquare(counts[allowed].numpy()).pvalue > 1e-3


def test_sample_complement_no_rowptr_path():
    # A source space much larger than the positives uses binary search:
    edge_index = torch.tensor([[5_000_000, 5_000_000], [0, 2]])
    index = PositiveIndex(edge_index, 10_000_000, 4)
    assert index.rowptr is None
    out = index.sample_complement(
        torch.full((200,), 5_000_000), torch.Generator().manual_seed(1)
    )
    assert set(out.tolist()) == {1, 3}
    assert index.degree(torch.tensor([5_000_000, 7])).tolist() == [2, 0]


@pytest.mark.parametrize('row_pointer', [None, True, False])
@pytest.mark.parametrize('sizes', [(40, 30), (70_000, 40_000)])
def test_layouts_answer_alike(row_pointer, sizes):
    # Small and 64-bit rank-key spaces, with and without the row pointer,
    # answer every query as the plain sets do.
    num_src, num_dst = sizes
    gen = torch.Generator().manual_seed(3)
    src = torch.randint(0, 40, (300,), generator=gen) * (num_src // 40)
    dst = torch.randint(0, 30, (300,), generator=gen) * (num_dst // 30)
    # One long row (deep binary search), its run of consecutive ids included:
    run = min(400, num_dst // 2)
    src = torch.cat([src, torch.zeros(run, dtype=torch.long)])
    dst = torch.cat([dst, torch.arange(run) * 7 % run + num_dst // 4])
    index = PositiveIndex(
        torch.stack([src, dst]), num_src, num_dst, row_pointer=row_pointer
    )
    assert index.rank_keys.dtype == torch.int32
    # A 64-bit key space searches each row's own shifted keys:
    wide = num_src * (num_dst + 1) >= 2**31
    assert (index.rank_steps > 0) == wide
    if row_pointer is not None:
        assert (index.rowptr is not None) == row_pointer
    pos = set(zip(src.tolist(), dst.tolist()))
    u = src.unique()
    out = index.sample_complement(u.repeat_interleave(50), gen)
    assert not any(
        (a, b) in pos
        for a, b in zip(u.repeat_interleave(50).tolist(), out.tolist())
    )
    deg = [sum(1 for a, _ in pos if a == x) for x in u.tolist()]
    assert index.degree(u).tolist() == deg
    rank = index.complement_rank_unchecked(u.repeat_interleave(50), out)
    assert torch.equal(
        index.complement_select_unchecked(u.repeat_interleave(50), rank), out
    )


def test_index_stays_within_16_bytes_per_positive():
    # 12 bytes of keys per positive; a row pointer that would outgrow the
    # budget is dropped:
    edge_index = torch.tensor([[0, 2_999_999, 5], [0, 999, 7]])
    index = PositiveIndex(edge_index, 3_000_000, 1_000)
    assert index.rowptr is None and index.nbytes == 12 * 3
    # Asked for, it is kept whatever it costs:
    kept = PositiveIndex(edge_index, 3_000_000, 1_000, row_pointer=True)
    assert kept.rowptr is not None and kept.nbytes > 16 * 3
    assert torch.equal(kept.degree(), index.degree())
    # Within the budget, it is kept (an int32 pointer: 4 bytes per source):
    gen = torch.Generator().manual_seed(0)
    pairs = torch.randint(0, 100, (2, 500), generator=gen)
    dense = PositiveIndex(pairs, 100, row_pointer=None)
    assert dense.rowptr is not None
    assert dense.nbytes == 12 * dense.num_edges + 4 * 101 <= 16 * 500


def test_row_pointer_must_be_bool():
    with pytest.raises(TypeError, match="'row_pointer' must be a bool"):
        PositiveIndex(torch.tensor([[0], [1]]), 2, row_pointer=1)


def test_sample_complement_full_row_raises():
    index = PositiveIndex(torch.tensor([[0, 0], [0, 1]]), 2, 2)
    with pytest.raises(
        ValueError, match='node 0 in .src. is a known positive'
    ):
        index.sample_complement(torch.tensor([1, 0]))


def test_empty_index():
    index = PositiveIndex(torch.empty(2, 0, dtype=torch.long), 2, 5)
    out = index.sample_complement(torch.tensor([0, 1, 1]))
    assert out.min() >= 0 and out.max() < 5
    assert not index.contains(torch.tensor([0]), torch.tensor([0])).any()


def test_from_data():
    from torch_geometric.data import Data, HeteroData

    data = Data(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=4)
    assert PositiveIndex.from_data(data).num_dst_nodes == 4
    hetero = HeteroData()
    hetero['user'].num_nodes = 2
    hetero['item'].num_nodes = 3
    hetero['user', 'rates', 'item'].edge_index = torch.tensor([[0], [2]])
    index = PositiveIndex.from_data(hetero, ('user', 'rates', 'item'))
    assert (index.num_src_nodes, index.num_dst_nodes) == (2, 3)
    with pytest.raises(ValueError, match="'edge_type' must be given"):
        PositiveIndex.from_data(hetero)


def test_repr():
    index = PositiveIndex(_edge_index(), 3, 4)
    assert repr(index).startswith(
        'PositiveIndex(num_edges=5, num_src_nodes=3, num_dst_nodes=4'
    )


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (
            dict(edge_index=[[0], [1]], num_src_nodes=2),
            TypeError,
            "'edge_index' must be a torch.Tensor",
        ),
        (
            dict(edge_index=torch.tensor([[0.0], [1.0]]), num_src_nodes=2),
            TypeError,
            "'edge_index' must hold integer",
        ),
        (
            dict(edge_index=torch.tensor([0, 1]), num_src_nodes=2),
            ValueError,
            "'edge_index' must have 2 dimension",
        ),
        (
            dict(edge_index=torch.tensor([[0, 1]]), num_src_nodes=2),
            ValueError,
            r"'edge_index' must have shape \[2, \*\]",
        ),
        (
            dict(edge_index=torch.tensor([[0], [5]]), num_src_nodes=2),
            ValueError,
            r"'edge_index\[1\]' holds node index 5",
        ),
        (
            dict(edge_index=torch.tensor([[-1], [0]]), num_src_nodes=2),
            ValueError,
            r"'edge_index\[0\]' holds node index -1",
        ),
        (
            dict(edge_index=torch.tensor([[0], [0]]), num_src_nodes=0),
            ValueError,
            "'num_src_nodes' must be a positive integer",
        ),
        (
            dict(edge_index=torch.tensor([[0], [0]]), num_src_nodes=2.0),
            TypeError,
            "'num_src_nodes' must be an int",
        ),
        (
            dict(
                edge_index=torch.tensor([[0], [0]]),
                num_src_nodes=2,
                num_dst_nodes=3,
                undirected=True,
            ),
            ValueError,
            "'undirected=True' needs as many",
        ),
        (
            dict(
                edge_index=torch.tensor([[0], [0]]),
                num_src_nodes=2,
                num_dst_nodes=3,
                exclude_self=True,
            ),
            ValueError,
            "'exclude_self=True' needs as many",
        ),
        (
            dict(
                edge_index=torch.tensor([[0], [0]]),
                num_src_nodes=2**40,
                num_dst_nodes=2**40,
            ),
            ValueError,
            'too large for 64-bit',
        ),
        (
            dict(
                edge_index=torch.tensor([[0], [0]]),
                num_src_nodes=2,
                extra_positives=[torch.tensor([[0], [9]])],
            ),
            ValueError,
            r"'extra_positives\[0\]\[1\]' holds node index 9",
        ),
    ],
)
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        PositiveIndex(**kwargs)


def test_query_errors():
    index = PositiveIndex(_edge_index(), 3, 4)
    with pytest.raises(ValueError, match="'src' holds node index 3"):
        index.contains(torch.tensor([3]), torch.tensor([0]))
    with pytest.raises(ValueError, match="'dst' holds node index 4"):
        index.contains(torch.tensor([0]), torch.tensor([4]))
    with pytest.raises(TypeError, match="'src' must hold integer"):
        index.degree(torch.tensor([0.5]))


def test_sorted_key_math_and_complement_ranks():
    from torch_geometric_negsamp.index import (
        complement_select,
        complement_shift,
        sorted_contains,
    )

    keys = torch.tensor([1, 2, 5, 9])
    query = torch.tensor([[0, 1], [5, 10]])
    assert sorted_contains(keys, query).tolist() == [
        [False, True],
        [True, False],
    ]
    assert not bool(sorted_contains(keys[:0], query).any())
    free = [v for v in range(12) if v not in keys.tolist()]
    rank = torch.arange(len(free))
    assert complement_select(complement_shift(keys), rank).tolist() == free
    assert torch.equal(complement_select(keys[:0], rank), rank)

    edge_index = torch.tensor([[0, 0, 2, 2, 2], [1, 3, 0, 1, 4]])
    index = PositiveIndex(edge_index, 3, 5)
    for u in range(3):
        pos = set(edge_index[1, edge_index[0] == u].tolist())
        non = [v for v in range(5) if v not in pos]
        src = torch.full((len(non),), u)
        got = index.complement_select_unchecked(src, torch.arange(len(non)))
        assert got.tolist() == non
        ranks = index.complement_rank_unchecked(src, torch.tensor(non))
        assert ranks.tolist() == list(range(len(non)))
    # An int64 key and an int32 rank key per positive, an int32 row pointer:
    assert index.nbytes == (8 + 4) * 5 + 4 * 4
    src, dst = index.edges()
    assert torch.equal(torch.stack([src, dst]), edge_index)
    assert index.num_candidates().tolist() == [3, 5, 2]


def test_unchecked_paths_agree_with_checked_ones():
    edge_index = torch.tensor([[0, 1, 1], [1, 0, 2]])
    index = PositiveIndex(edge_index, 2, 3)
    src, dst = torch.tensor([0, 1, 1]), torch.tensor([1, 1, 2])
    assert torch.equal(
        index.contains(src, dst), index.contains_unchecked(src, dst)
    )
    gen_a = torch.Generator().manual_seed(0)
    gen_b = torch.Generator().manual_seed(0)
    assert torch.equal(
        index.sample_complement(src, gen_a),
        index.sample_complement_unchecked(src, gen_b),
    )
    b1, d1 = index.neighbors(torch.tensor([1]))
    assert d1.tolist() == [0, 2] and b1.tolist() == [0, 0]
    with pytest.raises(ValueError, match="'dst' holds node index 3"):
        index.contains(src, torch.tensor([3]))
    with pytest.raises(TypeError, match="'extra_positives' must be a tensor"):
        PositiveIndex(edge_index, 2, 3, extra_positives='x')
    with pytest.raises(TypeError, match="'undirected' must be a bool"):
        PositiveIndex(edge_index, 3, undirected='no')
