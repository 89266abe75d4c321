import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from torch_geometric_negsamp.kg import SANSCorruption

from .sans_reference import (
    bfs_neighborhoods,
    knowledge_graphs,
    neighborhood_sets,
    one,
    star_of_stars,
    triples_tensor,
)


# ----------------------------------------------------- neighbourhoods
@settings(max_examples=60, deadline=None)
@given(
    graph=knowledge_graphs(max_entities=12),
    k=st.integers(1, 3),
    include_self=st.booleans(),
)
def test_neighborhood_equals_breadth_first_search(graph, k, include_self):
    n, num_rel, train, extra, _ = graph
    corruption = SANSCorruption(k=k, include_self=include_self).fit(
        triples_tensor(train),
        num_entities=n,
        num_relations=num_rel,
        extra_positives=triples_tensor(extra) if extra else None,
    )
    # The graph is the training triples': extra positives add no edge.
    expect = bfs_neighborhoods(train, n, k, include_self)
    assert neighborhood_sets(corruption, n) == expect
    sizes = corruption.neighborhood_sizes().tolist()
    assert sizes == [len(s) for s in expect]
    entities = torch.tensor([n - 1, 0])
    assert corruption.neighborhood_sizes(entities).tolist() == [
        len(expect[n - 1]),
        len(expect[0]),
    ]


@settings(max_examples=40, deadline=None)
@given(
    graph=knowledge_graphs(max_entities=12),
    k=st.integers(1, 3),
    num_walks=st.integers(1, 6),
    weighted=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_walk_neighborhood_stays_within_k_hops(
    graph, k, num_walks, weighted, seed
):
    n, num_rel, train, _, _ = graph
    corruption = SANSCorruption(
        k=k, method='walk', num_walks=num_walks, weighted=weighted, seed=seed
    ).fit(triples_tensor(train), num_entities=n, num_relations=num_rel)
    exact = bfs_neighborhoods(train, n, k)
    for walked, full in zip(neighborhood_sets(corruption, n), exact):
        assert walked <= full


def test_walks_restart_from_the_entity():
    # A path 0 - 1 - ... - 19: walks of two edges from 0 reach 1 and 2
    # only. Walks that continued one another (the public code) would
    # wander far along the path.
    path = [(i, 0, i + 1) for i in range(19)]
    for weighted in (False, True):
        corruption = SANSCorruption(
            k=2, method='walk', num_walks=500, weighted=weighted, seed=0
        ).fit(triples_tensor(path), num_entities=20)
        assert neighborhood_sets(corruption, 20)[0] == {1, 2}
        assert neighborhood_sets(corruption, 20)[10] == {8, 9, 11, 12}


def test_walk_recall_against_the_exact_neighborhood():
    # A random KG of 60 entities: the walked set is a subset of the exact
    # 2-hop neighbourhood whose recall grows with the walks and reaches 1.
    gen = torch.Generator().manual_seed(0)
    head = torch.randint(0, 60, (120,), generator=gen)
    tail = torch.randint(0, 60, (120,), generator=gen)
    relation = torch.randint(0, 4, (120,), generator=gen)
    triples = (head, relation, tail)
    exact = SANSCorruption(k=2).fit(triples, num_entities=60)
    total = int(exact.neighborhood_sizes().sum())
    recall = {}
    for num_walks in (1, 4, 16, 1000):
        walk = SANSCorruption(k=2, method='walk', num_walks=num_walks, seed=0)
        walk.fit(triples, num_entities=60)
        e = torch.arange(60).view(-1, 1)
        inside = walk.in_neighborhood(e, e.t())
        assert not bool((inside & ~exact.in_neighborhood(e, e.t())).any())
        recall[num_walks] = int(inside.sum()) / total
    assert recall[1] < recall[4] < recall[16] < recall[1000] == 1.0
    assert recall[1] < 0.5


# ---------------------------------------------------- stored rows
def test_sparse_and_dense_rows_draw_alike():
    # With 2,000 entities, the reach row of 0 (four members) is stored as
    # sorted keys, that of the hub 5 (201 members) as bits.
    triples = [(0, 0, 1), (1, 0, 2), (0, 0, 3)]
    triples += [(5, 0, 100 + i) for i in range(200)]
    corruption = SANSCorruption(3000, corrupt='tail', seed=0).fit(
        triples_tensor(triples),
        num_entities=2000,
        num_relations=2,
        extra_positives=triples_tensor([(5, 1, 100), (5, 1, 150)]),
    )
    # Tails of (0, 0, .): 1 and 3 known, 2 two hops away.
    assert set(corruption.sample(one(0, 0, 1)).tail.view(-1).tolist()) == {2}
    # Tails of (1, 0, .): 2 known.
    tails = corruption.sample(one(1, 0, 2)).tail.view(-1)
    assert set(tails.tolist()) == {0, 3}
    # Tails of (5, 1, .): 100 and 150 known.
    tails = corruption.sample(one(5, 1, 100)).tail.view(-1)
    expect = sorted(set(range(100, 300)) - {100, 150})
    assert set(tails.tolist()) == set(expect)
    counts = torch.bincount(tails, minlength=2000)[expect]
    assert chisquare(counts.numpy()).pvalue > 1e-4


def test_weighted_draws_follow_the_visit_counts():
    corruption = SANSCorruption(
        20000,
        k=2,
        corrupt='tail',
        method='walk',
        num_walks=400,
        weighted=True,
        seed=0,
    ).fit(star_of_stars(), num_entities=41)
    # From leaf 9 every walk steps to 1 first, then to 0 or a leaf of 1
    # (9 itself included): 400 visits of 1, 400 among {0, 9, 10, 11, 12}.
    nine, every = torch.full((41,), 9), torch.arange(41)
    own = SANSCorruption(
        k=2,
        method='walk',
        num_walks=400,
        weighted=True,
        include_self=True,
        seed=0,
    ).fit(star_of_stars(), num_entities=41)
    visits = own._neighborhoods.weights(nine, every)
    assert int(visits[1]) == 400 and int(visits.sum()) == 800
    assert set(visits.nonzero().view(-1).tolist()) == {0, 1, 9, 10, 11, 12}
    # The same walks (same seed), 9 itself left out:
    left = corruption._neighborhoods.weights(nine, every)
    assert torch.equal(left, torch.where(every == 9, 0, visits))
    # Tails of (9, ., .) given as an extra triple: 10 is known.
    corruption.fit(
        star_of_stars(),
        num_entities=41,
        num_relations=3,
        extra_positives=triples_tensor([(9, 2, 10)]),
    )
    tails = corruption.sample(one(9, 2, 10)).tail.view(-1)
    weight = corruption._neighborhoods.weights(
        torch.full((41,), 9), torch.arange(41)
    )
    weight[10] = 0
    support = weight.nonzero().view(-1)
    assert set(tails.tolist()) == set(support.tolist())
    counts = torch.bincount(tails, minlength=41)[support]
    expect = weight[support].double() / weight.sum() * tails.numel()
    assert chisquare(counts.numpy(), expect.numpy()).pvalue > 1e-4
