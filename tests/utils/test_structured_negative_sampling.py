import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from negsamp_cases import EDGE_INDEX, SETTINGS, gen, graphs, positive_set
from scipy.stats import chisquare
from torch_geometric.utils import (
    structured_negative_sampling_feasible as pyg_feasible,
)

from torch_geometric_negsamp import PositiveIndex
from torch_geometric_negsamp.utils import (
    structured_negative_sampling,
    structured_negative_sampling_feasible,
)


def _candidates(edge_index, num_src, num_dst, no_loops):
    pos = positive_set(edge_index)
    return {
        u: {
            v
            for v in range(num_dst)
            if (u, v) not in pos and not (no_loops and u == v)
        }
        for u in range(num_src)
    }


@SETTINGS
@given(
    graphs(),
    st.booleans(),
    st.integers(1, 3),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_no_negative_is_a_positive_homogeneous(
    graph, loops, num, use_index, seed
):
    edge_index, num_nodes, _ = graph
    cand = _candidates(edge_index, num_nodes, num_nodes, not loops)
    index = (
        PositiveIndex(edge_index, num_nodes, exclude_self=not loops)
        if use_index
        else None
    )
    bad = [u for u in edge_index[0].tolist() if not cand[u]]
    feasible = structured_negative_sampling_feasible(
        edge_index, num_nodes, loops, index=index
    )
    assert feasible == (not bad)
    if edge_index.size(1) > 0:
        assert feasible == pyg_feasible(edge_index, num_nodes, loops)
    if bad:
        with pytest.raises(ValueError, match=f'node {bad[0]} is connected'):
            structured_negative_sampling(
                edge_index, num_nodes, loops, num_neg_samples=num, index=index
            )
        return
    i, j, k = structured_negative_sampling(
        edge_index,
        num_nodes,
        loops,
        num_neg_samples=num,
        generator=gen(seed),
        index=index,
    )
    assert torch.equal(i, edge_index[0]) and torch.equal(j, edge_index[1])
    assert k.shape == (
        (edge_index.size(1),) if num == 1 else (edge_index.size(1), num)
    )
    for u, row in zip(i.tolist(), k.reshape(len(i), num).tolist()):
        assert set(row) <= cand[u]


@SETTINGS
@given(graphs(bipartite=True), st.integers(1, 3), st.integers(0, 2**31))
def test_no_negative_is_a_positive_bipartite(graph, num, seed):
    edge_index, num_src, num_dst = graph
    cand = _candidates(edge_index, num_src, num_dst, False)
    bad = [u for u in edge_index[0].tolist() if not cand[u]]
    assert structured_negative_sampling_feasible(
        edge_index, (num_src, num_dst)
    ) == (not bad)
    if bad:
        with pytest.raises(ValueError, match=f'node {bad[0]} is connected'):
            structured_negative_sampling(edge_index, (num_src, num_dst))
        return
    i, _, k = structured_negative_sampling(
        edge_index,
        (num_src, num_dst),
        num_neg_samples=num,
        generator=gen(seed),
    )
    assert k.shape == ((len(i),) if num == 1 else (len(i), num))
    for u, row in zip(i.tolist(), k.reshape(len(i), num).tolist()):
        assert set(row) <= cand[u]


def test_raises_on_a_node_connected_to_all():
    # PyG loops forever here; node 7 is connected to all 3000 nodes.
    num = 3000
    hub = torch.stack([torch.full((num,), 7), torch.arange(num)])
    edge_index = torch.cat([torch.tensor([[0, 1], [1, 2]]), hub], dim=1)
    with pytest.raises(ValueError, match='node 7 is connected to all 3000'):
        structured_negative_sampling(edge_index, num)
    assert not structured_negative_sampling_feasible(edge_index, num)


def test_the_single_non_neighbour_is_returned():
    # Without self-loops, node 0 misses only node 2 and node 1 only node 0
    # (its own loop is an edge); with them, node 0 may also get itself.
    edge_index = torch.tensor([[0, 0, 0, 1, 1, 1, 1], [1, 3, 4, 1, 2, 3, 4]])
    for loops, first in ((False, {2}), (True, {0, 2})):
        _, _, k = structured_negative_sampling(
            edge_index, 5, loops, num_neg_samples=40, generator=gen()
        )
        assert set(k[:3].view(-1).tolist()) == first
        assert set(k[3:].view(-1).tolist()) == {0}


def test_empty_graph():
    empty = torch.empty(2, 0, dtype=torch.long)
    i, j, k = structured_negative_sampling(empty, num_neg_samples=3)
    assert i.numel() == j.numel() == 0 and k.shape == (0, 3)
    assert structured_negative_sampling_feasible(empty, 1, False)


def test_reuses_an_index_with_extra_positives():
    extra = torch.tensor([[0], [2]])
    index = PositiveIndex(EDGE_INDEX, 4, extra_positives=extra)
    _, _, k = structured_negative_sampling(
        EDGE_INDEX, num_neg_samples=200, index=index, generator=gen()
    )
    assert set(k[0].tolist()) == {3}  # 0's positives: 0, 1 and (extra) 2
    assert set(k[2].tolist()) == {0, 1, 3}  # 1's positive: 2


def test_uniform_over_non_neighbours():
    # Node 0's positives are 1, 4 and 5; without self-loops its 8 other
    # nodes must each be drawn 1/8 of the time.
    edge_index = torch.tensor([[0, 0, 0, 3], [1, 4, 5, 2]])
    _, _, k = structured_negative_sampling(
        edge_index, 12, False, num_neg_samples=8000, generator=gen(0)
    )
    counts = torch.bincount(k[0], minlength=12)
    assert counts[[0, 1, 4, 5]].sum() == 0
    assert chisquare(counts[[2, 3, 6, 7, 8, 9, 10, 11]].numpy()).pvalue > 1e-3


def test_generator_makes_draws_reproducible():
    def call(g):
        return structured_negative_sampling(
            EDGE_INDEX, 50, generator=g, num_neg_samples=8
        )[2]

    assert torch.equal(call(gen(3)), call(gen(3)))
    assert not torch.equal(call(gen(3)), call(gen(4)))
