import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from region_reference import (
    bipartite_graphs,
    bipartite_reference,
    homogeneous_graphs,
    homogeneous_reference,
)

from torch_geometric_negsamp.region import KHopRegion


def _labels(region, num_users, num_items):
    users = torch.arange(num_users).view(-1, 1).expand(-1, num_items)
    items = torch.arange(num_items).view(1, -1).expand(num_users, -1)
    return region.region_of(users, items)


def _check_subset(region, adjacent, intermediate, num_items):
    got = _labels(region, len(adjacent), num_items)
    for u, (adj, mid) in enumerate(zip(adjacent, intermediate)):
        # The adjacent region is exact; every walked item is reachable.
        assert set((got[u] == 2).nonzero().view(-1).tolist()) == adj
        assert set((got[u] == 1).nonzero().view(-1).tolist()) <= mid
    users = torch.arange(len(adjacent)).repeat(10)
    users = users[region.sizes()[users] > 0]
    draw = region.sample_intermediate(users)
    assert bool((got[users, draw] == 1).all())


@settings(max_examples=40, deadline=None)
@given(
    graph=bipartite_graphs(),
    hops=st.sampled_from([(3, 1), (5, 1), (5, 3)]),
    num_walks=st.integers(1, 20),
    seed=st.integers(0, 2**31),
)
def test_bipartite_walks_stay_inside_the_exact_region(
    graph, hops, num_walks, seed
):
    edge_index, num_users, num_items, extra = graph
    region = KHopRegion(
        edge_index,
        (num_users, num_items),
        *hops,
        extra_positives=extra,
        method='walk',
        num_walks=num_walks,
        seed=seed,
    )
    reference = bipartite_reference(
        edge_index, num_users, num_items, *hops, extra
    )
    _check_subset(region, *reference, num_items)


@settings(max_examples=40, deadline=None)
@given(
    graph=homogeneous_graphs(),
    hops=st.sampled_from([(1, 0), (2, 0), (2, 1), (3, 1), (4, 2)]),
    seed=st.integers(0, 2**31),
)
def test_homogeneous_walks_stay_inside_the_exact_region(graph, hops, seed):
    # Directed graphs have dead ends: a walk stops there.
    edge_index, num_nodes, extra = graph
    region = KHopRegion(
        edge_index,
        num_nodes,
        *hops,
        extra_positives=extra,
        method='walk',
        num_walks=5,
        seed=seed,
    )
    reference = homogeneous_reference(edge_index, num_nodes, *hops, extra)
    _check_subset(region, *reference, num_nodes)


def test_recall_grows_to_one():
    gen = torch.Generator().manual_seed(0)
    edge_index = torch.stack(
        [
            torch.randint(0, 10, (40,), generator=gen),
            torch.randint(0, 30, (40,), generator=gen),
        ]
    )
    exact = KHopRegion(edge_index, (10, 30), k=5).sizes()
    recall = []
    for num_walks in (1, 8, 64, 4000):
        walked = KHopRegion(
            edge_index,
            (10, 30),
            k=5,
            method='walk',
            num_walks=num_walks,
            seed=1,
        ).sizes()
        assert bool((walked <= exact).all())
        recall.append(float(walked.sum() / exact.sum()))
    assert recall[0] < 0.5
    assert recall == sorted(recall)
    assert recall[-1] == 1.0


def test_walks_are_seeded():
    gen = torch.Generator().manual_seed(1)
    edge_index = torch.stack(
        [
            torch.randint(0, 20, (60,), generator=gen),
            torch.randint(0, 50, (60,), generator=gen),
        ]
    )

    def build(seed):
        return KHopRegion(
            edge_index, (20, 50), method='walk', num_walks=3, seed=seed
        )

    a, b = build(7), build(7)
    assert torch.equal(_labels(a, 20, 50), _labels(b, 20, 50))
    sizes = {tuple(build(s).sizes().tolist()) for s in range(5)}
    assert len(sizes) > 1
    assert a.stats['method'] == 'walk' and a.stats['walk_blocks'] >= 1
    assert "method='walk'" in repr(a)


def test_walk_blocks_and_budget():
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    region = KHopRegion(
        edge_index, (4, 2), method='walk', num_walks=10, block_size=1
    )
    assert region.stats['walk_blocks'] == 4
    assert region.sizes().tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError, match="'memory_budget' must be at least"):
        KHopRegion(
            edge_index,
            (4, 2),
            method='walk',
            num_walks=10**6,
            memory_budget=10**6,
        )
