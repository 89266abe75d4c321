import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from negsamp_cases import SETTINGS, gen, graphs, sample_quietly, valid_pairs

from torch_geometric_negsamp.utils import _exact, batched_negative_sampling


@st.composite
def batches(draw, bipartite=False):
    r"""``(edge_index, src_sizes, dst_sizes)`` of 1 to 4 small graphs whose
    nodes are numbered graph after graph."""
    num_graphs = draw(st.integers(1, 4))
    parts, src_sizes, dst_sizes = [], [], []
    src_off = dst_off = 0
    for _ in range(num_graphs):
        edge_index, num_src, num_dst = draw(
            graphs(bipartite=bipartite, max_nodes=5, max_edges=10)
        )
        parts.append(edge_index + torch.tensor([[src_off], [dst_off]]))
        src_sizes.append(num_src)
        dst_sizes.append(num_dst)
        src_off += num_src
        dst_off += num_dst
    return torch.cat(parts, dim=1), src_sizes, dst_sizes


def _batch_vector(sizes):
    return torch.repeat_interleave(
        torch.arange(len(sizes)), torch.tensor(sizes)
    )


def _graph_pairs(edge_index, src_sizes, dst_sizes, g, kind):
    r"""The valid pairs of graph :obj:`g` in global ids, and its edges."""
    src_off, dst_off = sum(src_sizes[:g]), sum(dst_sizes[:g])
    mask = (edge_index[0] >= src_off) & (
        edge_index[0] < src_off + src_sizes[g]
    )
    local = edge_index[:, mask] - torch.tensor([[src_off], [dst_off]])
    valid = valid_pairs(local, src_sizes[g], dst_sizes[g], kind)
    return {(u + src_off, v + dst_off) for u, v in valid}, int(mask.sum())


@SETTINGS
@given(
    batches(),
    st.one_of(st.none(), st.integers(0, 12), st.floats(0.0, 2.0)),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_homogeneous_no_pair_is_a_positive_and_counts_are_exact(
    data, num, force_undirected, seed
):
    edge_index, sizes, _ = data
    batch = _batch_vector(sizes)
    kind = 'undirected' if force_undirected else 'directed'
    out, short = sample_quietly(
        batched_negative_sampling,
        edge_index,
        batch,
        num,
        force_undirected=force_undirected,
        generator=gen(seed),
    )
    col_start, any_short = 0, False
    for g in range(len(sizes)):
        valid, e_g = _graph_pairs(edge_index, sizes, sizes, g, kind)
        want = (
            e_g
            if num is None
            else (int(num * e_g) if isinstance(num, float) else num)
        )
        if force_undirected:
            want //= 2
        got = min(want, len(valid))
        any_short |= want > len(valid)
        width = 2 * got if force_undirected else got
        block = out[:, col_start : col_start + width]
        col_start += width
        forward = block[:, :got]
        if force_undirected:
            assert torch.equal(block[:, got:], forward.flip(0))
        pairs = list(map(tuple, forward.t().tolist()))
        assert len(set(pairs)) == len(pairs) == got
        assert set(pairs) <= valid
    assert col_start == out.size(1)
    assert short == any_short


@SETTINGS
@given(batches(bipartite=True), st.integers(0, 12), st.integers(0, 2**31))
def test_bipartite_no_pair_is_a_positive_and_counts_are_exact(data, num, seed):
    edge_index, src_sizes, dst_sizes = data
    src_batch, dst_batch = _batch_vector(src_sizes), _batch_vector(dst_sizes)
    out, short = sample_quietly(
        batched_negative_sampling,
        edge_index,
        (src_batch, dst_batch),
        num,
        generator=gen(seed),
    )
    pairs = list(map(tuple, out.t().tolist()))
    assert len(set(pairs)) == len(pairs)
    any_short = False
    for g in range(len(src_sizes)):
        valid, _ = _graph_pairs(
            edge_index, src_sizes, dst_sizes, g, 'bipartite'
        )
        mine = [p for p in pairs if int(src_batch[p[0]]) == g]
        assert set(mine) <= valid
        assert len(mine) == min(num, len(valid))
        any_short |= num > len(valid)
    assert short == any_short


def test_every_graph_gets_its_negatives():
    # PyG stops at the last graph with edges; the trailing edgeless graph
    # 1 gets its two negatives here.
    edge_index = torch.tensor([[0], [1]])
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    out = batched_negative_sampling(edge_index, batch, 2, generator=gen())
    assert int((batch[out[0]] == 1).sum()) == 2
    assert bool((batch[out[0]] == batch[out[1]]).all())


def test_the_single_non_edge_of_each_graph_is_returned():
    # Graph 0 (nodes 0-2) lacks only (2, 1); graph 1 (nodes 3-4) only
    # (4, 3): asked for 5 each, each gives its one non-edge and warns.
    full = [(u, v) for u in range(3) for v in range(3) if u != v]
    edges = [p for p in full if p != (2, 1)] + [(3, 4)]
    edge_index = torch.tensor(edges).t()
    batch = torch.tensor([0, 0, 0, 1, 1])
    with pytest.warns(UserWarning, match=r'short in 2 graph\(s\)'):
        out = batched_negative_sampling(edge_index, batch, 5, generator=gen())
    assert out.tolist() == [[2, 4], [1, 3]]


def test_fallback_rounds_are_exact(monkeypatch):
    monkeypatch.setattr(_exact, 'MAX_ROUNDS', 0)
    edge_index = torch.tensor([[0, 1, 40, 41], [1, 2, 41, 42]])
    batch = torch.tensor([0] * 40 + [1] * 40)
    out = batched_negative_sampling(edge_index, batch, 50, generator=gen())
    pairs = list(map(tuple, out.t().tolist()))
    assert len(set(pairs)) == len(pairs) == 100
    assert not set(pairs) & set(map(tuple, edge_index.t().tolist()))
    assert bool((batch[out[0]] == batch[out[1]]).all())
    assert all(u != v for u, v in pairs)


def test_warns_when_a_graph_is_full():
    # Graph 1 has two nodes joined both ways: no non-edge is left in it.
    edge_index = torch.tensor([[0, 3, 4], [1, 4, 3]])
    batch = torch.tensor([0, 0, 0, 1, 1])
    with pytest.warns(UserWarning, match=r'short in 1 graph\(s\)'):
        out = batched_negative_sampling(edge_index, batch, 2, generator=gen())
    assert out.size(1) == 2 and bool((batch[out[0]] == 0).all())


def test_generator_makes_draws_reproducible():
    def call(g):
        return batched_negative_sampling(
            torch.tensor([[0, 5], [1, 6]]),
            torch.tensor([0] * 5 + [1] * 5),
            6,
            generator=g,
        )

    assert torch.equal(call(gen(3)), call(gen(3)))
    assert not torch.equal(call(gen(3)), call(gen(4)))
