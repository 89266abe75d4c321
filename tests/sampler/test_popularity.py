import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from torch_geometric_negsamp import PopularitySampler


def _graph():
    # Destination in-degrees: 0 -> 1, 1 -> 4, 2 -> 9, 3 -> 0, 4 -> 2.
    dst = [0] + [1] * 4 + [2] * 9 + [4] * 2
    src = list(range(len(dst)))
    return torch.tensor([src, dst]), len(dst), 5


def test_chi_square_follows_degree_power():
    edge_index, num_src, num_dst = _graph()
    sampler = PopularitySampler(
        amount=6000, alpha=0.75, seed=0, filtered=False
    )
    sampler.fit(edge_index, (num_src, num_dst))
    neg = sampler.sample_negatives(torch.tensor([0]))[0]
    counts = torch.bincount(neg, minlength=5)
    assert counts[3] == 0  # degree zero is never drawn
    deg = torch.tensor([1.0, 4.0, 9.0, 0.0, 2.0], dtype=torch.float64)
    expected = deg.pow(0.75)
    expected = (expected / expected.sum() * neg.numel())[[0, 1, 2, 4]]
    assert (
        chisquare(counts[[0, 1, 2, 4]].numpy(), expected.numpy()).pvalue > 1e-3
    )
    # Negative control: uniform expectation is rejected.
    assert chisquare(counts[[0, 1, 2, 4]].numpy()).pvalue < 1e-3


def test_filtered_renormalises_exactly():
    # Source 5 is linked to destination 2 (the most popular): its negatives
    # follow deg^alpha over {0, 1, 4} only. max_trials=1 forces the exact
    # fallback for part of the draws.
    edge_index, num_src, num_dst = _graph()
    sampler = PopularitySampler(amount=6000, alpha=1.0, seed=1, max_trials=1)
    sampler.fit(edge_index, (num_src, num_dst))
    neg = sampler.sample_negatives(torch.tensor([5]))[0]
    counts = torch.bincount(neg, minlength=5)
    assert counts[2] == 0 and counts[3] == 0
    expected = torch.tensor([1.0, 4.0, 2.0], dtype=torch.float64)
    expected = expected / expected.sum() * neg.numel()
    assert chisquare(counts[[0, 1, 4]].numpy(), expected.numpy()).pvalue > 1e-3


def test_exact_fallback_alone_matches_distribution():
    edge_index, num_src, num_dst = _graph()
    sampler = PopularitySampler(alpha=1.0, seed=2)
    sampler.fit(edge_index, (num_src, num_dst))
    index = sampler.index()
    src = torch.full((6000,), 5)
    out = sampler._sample_exact(src, index, None, sampler.get_generator())
    counts = torch.bincount(out, minlength=5)
    assert counts[2] == 0 and counts[3] == 0
    expected = torch.tensor([1.0, 4.0, 2.0], dtype=torch.float64) / 7 * 6000
    assert chisquare(counts[[0, 1, 4]].numpy(), expected.numpy()).pvalue > 1e-3


def test_user_weight():
    edge_index = torch.tensor([[0], [0]])
    weight = torch.tensor([0.0, 1.0, 3.0, 0.0])
    sampler = PopularitySampler(amount=4000, weight=weight, seed=0)
    neg = sampler.fit(edge_index, (1, 4)).sample_negatives(torch.tensor([0]))
    counts = torch.bincount(neg[0], minlength=4)
    assert counts[0] == 0 and counts[3] == 0
    assert chisquare(counts[1:3].numpy(), [1000, 3000]).pvalue > 1e-3
    # PyG's static hook draws from the weight before any fit:
    fresh = PopularitySampler('binary', weight=weight, seed=0)
    out = fresh.sample(500, 'dst', 4)
    assert set(out.tolist()) <= {1, 2}


def test_source_whose_only_weighted_destinations_are_positives_raises():
    edge_index = torch.tensor([[0, 0, 1], [1, 2, 0]])
    weight = torch.tensor([0.0, 1.0, 1.0])
    sampler = PopularitySampler(weight=weight).fit(edge_index, (2, 3))
    with pytest.raises(ValueError, match='source node 0 has no valid'):
        sampler.sample_negatives(torch.tensor([1, 0]))
    sampler = PopularitySampler(weight=weight, on_unsatisfiable='drop')
    sampler.fit(edge_index, (2, 3))
    with pytest.warns(UserWarning, match='dropped 1 positive'):
        neg, keep = sampler.sample_negatives(
            torch.tensor([1, 0]), return_mask=True
        )
    assert keep.tolist() == [True, False] and neg.shape == (1, 1)
    assert sampler.num_dropped == 1


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    alpha=st.floats(0.0, 2.0),
    density=st.floats(0.1, 0.9),
)
def test_property_no_positive(seed, alpha, density):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(8, 10, generator=gen) < density
    mask[:, 0] = True  # every destination has degree > 0 via column 0 ...
    mask[:, 0] = False
    mask[0, :] = True  # ... and row 0 links everything (unsatisfiable)
    edge_index = mask.nonzero().t()
    sampler = PopularitySampler(
        amount=5, alpha=alpha, seed=seed, on_unsatisfiable='drop', max_trials=2
    )
    sampler.fit(edge_index, (8, 10))
    with pytest.warns(UserWarning):
        neg, keep = sampler.sample_negatives(torch.arange(8), return_mask=True)
    assert not keep[0]
    src = torch.arange(8)[keep].view(-1, 1).expand_as(neg)
    assert not mask[src, neg].any()
    deg = mask.sum(0)
    assert (deg[neg] > 0).all()


def test_hetero_fit_per_edge_type():
    from torch_geometric.data import HeteroData

    data = HeteroData()
    data['user'].num_nodes = 3
    data['item'].num_nodes = 4
    data['user', 'rates', 'item'].edge_index = torch.tensor(
        [[0, 1, 2, 2], [1, 1, 1, 2]]
    )
    data['item', 'rev', 'user'].edge_index = torch.tensor([[0], [0]])
    sampler = PopularitySampler(amount=300, alpha=1.0, seed=0).fit(data)
    et = ('user', 'rates', 'item')
    neg = sampler.sample_negatives(torch.tensor([0, 1]), edge_type=et)
    assert set(neg.view(-1).tolist()) == {2}  # degree-0 items 0, 3 never drawn
    with pytest.raises(ValueError, match='no valid negative'):
        sampler.sample_negatives(torch.tensor([2]), edge_type=et)
    rev = sampler.sample_negatives(
        torch.tensor([1]), edge_type=('item', 'rev', 'user')
    )
    assert set(rev[0].tolist()) == {0}


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(alpha=-1.0), ValueError, "'alpha' must be non-negative"),
        (dict(alpha='x'), TypeError, "'alpha' must be a float"),
        (dict(alpha=float('nan')), ValueError, "'alpha' must be finite"),
        (dict(alpha=float('inf')), ValueError, "'alpha' must be finite"),
        (dict(weight=[1.0]), TypeError, "'weight' must be a torch.Tensor"),
        (dict(weight=torch.ones(2, 2)), ValueError, "'weight' must be a 1-D"),
        (
            dict(weight=torch.tensor([1.0, float('inf')])),
            ValueError,
            "'weight' must be finite",
        ),
        (dict(weight=torch.tensor([1.0, -1.0])), ValueError, 'non-negative'),
        (dict(weight=torch.zeros(3)), ValueError, 'positive entry'),
    ],
)
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        PopularitySampler(**kwargs)


def test_fit_errors():
    with pytest.raises(ValueError, match="'weight' must have one entry per"):
        PopularitySampler(weight=torch.ones(3)).fit(
            torch.tensor([[0], [0]]), (1, 4)
        )
    with pytest.raises(ValueError, match='has no edge'):
        PopularitySampler().fit(torch.empty(2, 0, dtype=torch.long), (2, 2))
    with pytest.raises(RuntimeError, match="needs 'fit"):
        PopularitySampler('binary').sample(3, 'dst', 4)


def test_repr():
    assert repr(PopularitySampler(amount=2, alpha=0.5)) == (
        "PopularitySampler(mode='triplet', amount=2, alpha=0.5, "
        'filtered=True, seed=None)'
    )


def test_static_hook_uses_the_popularity_of_hetero_and_dict_weights():
    from torch_geometric.data import HeteroData

    data = HeteroData()
    data['user'].num_nodes = 3
    data['item'].num_nodes = 4
    data['user', 'rates', 'item'].edge_index = torch.tensor(
        [[0, 1, 2], [0, 1, 1]]
    )
    sampler = PopularitySampler('binary', seed=0).fit(
        data, edge_type=('user', 'rates', 'item')
    )
    out = sampler.sample(2000, 'dst', 4)
    assert set(out.tolist()) == {0, 1}  # items 2, 3 have no popularity
    assert out.device.type == 'cpu'
    weight = {('user', 'rates', 'item'): torch.tensor([0.0, 0.0, 1.0, 1.0])}
    out = PopularitySampler('binary', weight=weight, seed=0).sample(
        500, 'dst', 4
    )
    assert set(out.tolist()) == {2, 3}
    two = {
        ('a', 'to', 'b'): torch.ones(4),
        ('c', 'to', 'd'): torch.arange(4.0),
    }
    with pytest.raises(ValueError, match='cannot tell which weights'):
        PopularitySampler('binary', weight=two).sample(10, 'dst', 4)


# --------------------------------------------------- issue 8 regressions
def test_huge_alpha_never_returns_positives_or_self_loops():
    # Finding 1: deg ** 1e6 overflowed, and the clamped draw returned the
    # last node (a self-loop) for a third of the negatives.
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 4], [1, 2, 3, 4, 0, 2]])
    sampler = PopularitySampler(amount=60, alpha=1e6, seed=0)
    sampler.fit(edge_index, 5)
    # Only the most popular destination (2, degree 2) keeps any weight
    # (the others weigh 2 ** -1e6 of it): sources 0 and 3 draw it, and the
    # sources for which it is a positive (or themselves) have nothing left.
    src = torch.tensor([0, 3, 0, 3])
    neg = sampler.sample_negatives(src)
    assert set(neg.view(-1).tolist()) == {2}
    for u in (1, 2, 4):
        with pytest.raises(ValueError, match=f'source node {u} has no'):
            sampler.sample_negatives(torch.tensor([u]))


def test_weights_near_the_float_limit_do_not_overflow():
    # Finding 1: four float64 weights of 1e308 made the cumulative sum
    # overflow and 93 of 200 binary pairs were positives.
    edge_index = torch.tensor([[0, 0, 1, 2, 3], [0, 1, 2, 3, 0]])
    weight = torch.full((4,), 1e308, dtype=torch.float64)
    sampler = PopularitySampler('binary', weight=weight, seed=0)
    sampler.fit(edge_index, (4, 4))
    src, dst = sampler.sample_pairs(2000)
    assert not bool(sampler.index().contains(src, dst).any())
    lp = sampler.log_prob(torch.tensor([0]), torch.arange(4))
    assert torch.allclose(lp.exp().sum(), torch.tensor(1.0).double())


def test_unknown_weight_key_is_an_error():
    # Finding 2: an unknown edge-type key in weight={...} was ignored.
    from torch_geometric.data import HeteroData

    data = HeteroData()
    data['user'].num_nodes = 2
    data['item'].num_nodes = 3
    data['user', 'rates', 'item'].edge_index = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match="'weight\\[\\('user', 'x'\\)\\]'"):
        PopularitySampler(weight={('user', 'x'): torch.ones(3)}).fit(data)
    shorthand = {('user', 'item'): torch.tensor([0.0, 0.0, 1.0])}
    sampler = PopularitySampler(amount=20, weight=shorthand, seed=0)
    neg = sampler.fit(data).sample_negatives(
        torch.tensor([0]), edge_type=('user', 'rates', 'item')
    )
    assert set(neg.view(-1).tolist()) == {2}


def test_exact_fallback_scales_with_the_row_not_the_graph():
    # Finding 4: the exact fallback built a dense weight row per source,
    # O(N) each: 10^4 sources over 2 * 10^6 destinations would take hours.
    # Here almost all the mass sits on each source's positives, so nearly
    # every draw reaches the exact fallback.
    num_dst, num_src = 2_000_000, 10_000
    weight = torch.ones(num_dst, dtype=torch.float64)
    weight[:8] = 1e12
    src = torch.arange(num_src).repeat_interleave(8)
    dst = torch.arange(8).repeat(num_src)
    sampler = PopularitySampler(weight=weight, max_trials=1, seed=0)
    sampler.fit(torch.stack([src, dst]), (num_src, num_dst))
    neg = sampler.sample_negatives(torch.arange(num_src), num_neg=2)
    assert bool((neg >= 8).all())
    # Uniform over the 1-weight destinations: spread, not clamped.
    assert int(neg.max()) > num_dst // 2 and int(neg.min()) < num_dst // 2


def test_exact_fallback_matches_the_filtered_distribution():
    # Rejection is made to fail (one trial, the positives hold most mass),
    # so the draws come from the masked-cdf search; chi-square against the
    # exact filtered probabilities.
    weight = torch.tensor([50.0, 1.0, 2.0, 40.0, 3.0, 4.0, 30.0])
    edge_index = torch.tensor([[0, 0, 0, 1, 1], [0, 3, 6, 0, 6]])
    sampler = PopularitySampler(weight=weight, max_trials=1, seed=3)
    sampler.fit(edge_index, (2, 7))
    for u, allowed in ((0, [1, 2, 4, 5]), (1, [1, 2, 3, 4, 5])):
        neg = sampler.sample_negatives(torch.tensor([u]), num_neg=20000)[0]
        count = torch.bincount(neg, minlength=7).double()
        assert set(neg.unique().tolist()) == set(allowed)
        p = weight[allowed] / weight[allowed].sum()
        _, pvalue = chisquare(count[allowed].numpy(), (p * 20000).numpy())
        assert pvalue > 1e-4


def test_undirected_counts_both_degrees_and_filters_both_directions():
    # Directed edges 0->1, 2->1, 3->1, 1->4, 4->5 on 6 nodes. Undirected,
    # the degree is in + out: 0:1, 1:4, 2:1, 3:1, 4:2, 5:1, and node 5's
    # positives are {4} (the reverse of 4->5); itself is left out too.
    edge_index = torch.tensor([[0, 2, 3, 1, 4], [1, 1, 1, 4, 5]])
    sampler = PopularitySampler(
        amount=6000, alpha=1.0, seed=0, undirected=True
    ).fit(edge_index, 6)
    neg = sampler.sample_negatives(torch.tensor([5]))[0]
    counts = torch.bincount(neg, minlength=6)
    assert counts[4] == 0 and counts[5] == 0
    expected = torch.tensor([1.0, 4.0, 1.0, 1.0], dtype=torch.float64)
    expected = expected / expected.sum() * neg.numel()
    assert chisquare(counts[:4].numpy(), expected.numpy()).pvalue > 1e-3
    # Directed, the same source may draw 4 (no edge 5->4) and only the
    # destinations of an edge weigh anything: 1 (in-degree 3) and 4 (1).
    directed = PopularitySampler(amount=6000, alpha=1.0, seed=0)
    neg = directed.fit(edge_index, 6).sample_negatives(torch.tensor([5]))[0]
    counts = torch.bincount(neg, minlength=6)
    assert set(counts.nonzero().view(-1).tolist()) == {1, 4}
    assert chisquare(counts[[1, 4]].numpy(), [4500, 1500]).pvalue > 1e-3
    # log_prob is exact under the undirected weights: deg(v) / 7.
    neg, log_prob = sampler.sample_negatives(
        torch.tensor([5, 5]), num_neg=50, return_log_prob=True
    )
    deg = torch.tensor([1.0, 4.0, 1.0, 1.0, 2.0, 1.0], dtype=torch.float64)
    assert torch.allclose(log_prob.double().exp(), deg[neg] / 7)
