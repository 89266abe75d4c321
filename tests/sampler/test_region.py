import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chisquare
from torch_geometric.data import Data, HeteroData

from torch_geometric_negsamp import RegionSampler, UnsatisfiableError
from torch_geometric_negsamp.loader import LinkNeighborLoader
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.sampler import resolve_sampler
from torch_geometric_negsamp.transforms import AddNegativeSamples

# Users 0-2 over items 0-5, by hand (k=3, adjacent_hops=1):
#   user 0: items {1, 4}; 3-hop walks reach {0, 1, 2, 4}
#           intermediate {0, 2}, distant {3, 5}
#   user 1: items {0};    reach {0, 1, 2}: intermediate {1, 2},
#           distant {3, 4, 5}
#   user 2: items {0, 1, 2}; reach {0, 1, 2, 4}: intermediate {4},
#           distant {3, 5}
#   user 3: no item: empty intermediate region, all six items distant
SMALL = torch.tensor([[0, 0, 1, 2, 2, 2], [1, 4, 0, 0, 1, 2]])
INTERMEDIATE = [{0, 2}, {1, 2}, {4}, set()]
DISTANT = [{3, 5}, {3, 4, 5}, {3, 5}, set(range(6))]


def _random_graph(seed, num_users=12, num_items=40, density=0.08):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(num_users, num_items, generator=gen) < density
    return mask.nonzero().t(), mask


def _labels(sampler, num_users, num_items, edge_type=None):
    users = torch.arange(num_users).view(-1, 1).expand(-1, num_items)
    items = torch.arange(num_items).view(1, -1).expand(num_users, -1)
    return sampler.region(edge_type).region_of(users, items)


def test_registered_exported_and_repr():
    sampler = resolve_sampler('region', amount=2, k=5, distant_share=0.1)
    assert isinstance(sampler, RegionSampler)
    assert repr(sampler) == (
        "RegionSampler(mode='triplet', amount=2, k=5, adjacent_hops=1, "
        "distant_share=0.1, method='exact', filtered=True, seed=None)"
    )


def test_log_prob_by_hand():
    sampler = RegionSampler(distant_share=0.25).fit(SMALL, (4, 6))
    p = sampler.log_prob(torch.arange(4).view(-1, 1), torch.arange(6)).exp()
    q = 0.25
    expect = torch.zeros(4, 6, dtype=torch.double)
    for u in range(4):
        both = INTERMEDIATE[u] and DISTANT[u]
        for v in INTERMEDIATE[u]:
            expect[u, v] = (1 - q if both else 1.0) / len(INTERMEDIATE[u])
        for v in DISTANT[u]:
            expect[u, v] = (q if both else 1.0) / len(DISTANT[u])
    assert torch.allclose(p, expect, rtol=0, atol=1e-15)
    # An extra positive leaves the intermediate region: user 1 keeps {1}.
    held = torch.tensor([[1], [2]])
    sampler = RegionSampler(distant_share=0.25)
    sampler.fit(SMALL, (4, 6), extra_positives=held)
    p = sampler.log_prob(torch.tensor([1]), torch.arange(6)).exp()
    assert torch.allclose(
        p, torch.tensor([0, 0.75, 0, 0.25 / 3, 0.25 / 3, 0.25 / 3]).double()
    )
    # A source whose distant region is empty draws from the intermediate
    # one, whatever the share: user 0 reaches every item.
    edge_index = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 2]])
    sampler = RegionSampler(distant_share=0.9).fit(edge_index, (2, 3))
    p = sampler.log_prob(torch.tensor([0]), torch.arange(3)).exp()
    assert p.tolist() == [0.0, 0.5, 0.5]
    neg = sampler.sample_negatives(torch.tensor([0]), num_neg=50)
    assert set(neg.view(-1).tolist()) == {1, 2}
    # distant_share=1 draws only distant items where there are some.
    sampler = RegionSampler(distant_share=1.0, seed=0).fit(SMALL, (4, 6))
    neg = sampler.sample_negatives(torch.arange(3), num_neg=200)
    for u in range(3):
        assert set(neg[u].tolist()) == DISTANT[u]


def test_uniform_over_the_intermediate_region():
    edge_index, mask = _random_graph(0)
    sampler = RegionSampler(seed=1).fit(edge_index, (12, 40))
    labels = _labels(sampler, 12, 40)
    num = 4000
    neg = sampler.sample_negatives(torch.arange(12), num_neg=num)
    for u in range(12):
        inside = (labels[u] == 1).nonzero().view(-1)
        if inside.numel() == 0:  # no intermediate item: the fallback
            inside = (labels[u] == 0).nonzero().view(-1)
        count = torch.bincount(neg[u], minlength=40)
        assert int(count[inside].sum()) == num  # nothing else
        assert not bool(mask[u, neg[u]].any())
        if inside.numel() > 1:
            _, pvalue = chisquare(count[inside].numpy())
            assert pvalue > 1e-4, (u, count[inside].tolist())


def test_distant_share_is_binomial_and_uniform_within():
    edge_index, _ = _random_graph(2)
    share = 0.3
    sampler = RegionSampler(distant_share=share, seed=3)
    sampler.fit(edge_index, (12, 40))
    labels = _labels(sampler, 12, 40)
    region = sampler.region()
    both = (region.sizes() > 0) & (region.distant_sizes() > 0)
    users = both.nonzero().view(-1)
    assert users.numel() >= 5
    num = 3000
    neg = sampler.sample_negatives(users, num_neg=num)
    label = labels[users.view(-1, 1), neg]
    assert not bool((label == 2).any())  # never adjacent
    far = int((label == 0).sum())
    test = binomtest(far, label.numel(), share)
    assert test.pvalue > 1e-4, (far, label.numel())
    for row, u in enumerate(users.tolist()):
        distant = (labels[u] == 0).nonzero().view(-1)
        count = torch.bincount(neg[row], minlength=40)[distant]
        if distant.numel() > 1:
            assert chisquare(count.numpy()).pvalue > 1e-4


def test_fallback_draws_distant_and_is_counted():
    sampler = RegionSampler(seed=0).fit(SMALL, (4, 6))
    report = sampler.region_report()
    assert report['fallback_sources'] == 1  # user 3
    assert report['unsatisfiable_sources'] == 0
    assert report['pairs'] == 5 and report['nbytes'] > 0
    assert report['seconds'] >= 0
    assert sampler.num_fallback == 0
    neg = sampler.sample_negatives(torch.tensor([3, 0, 3]), num_neg=600)
    assert set(neg[0].tolist()) | set(neg[2].tolist()) <= DISTANT[3]
    count = torch.bincount(neg[[0, 2]].view(-1), minlength=6)
    assert chisquare(count.numpy()).pvalue > 1e-4  # uniform over all six
    assert set(neg[1].tolist()) == INTERMEDIATE[0]
    assert sampler.num_fallback == 2  # positives, not draws
    sampler.sample_trusted(torch.tensor([3, 1]), 4)
    assert sampler.num_fallback == 3
    binary = RegionSampler('binary', seed=0).fit(SMALL, (4, 6))
    src, dst = binary.sample_pairs(400)
    assert binary.num_fallback == int((src == 3).sum()) > 0
    sampler.num_fallback = 0
    assert sampler.num_fallback == 0
    with pytest.raises(ValueError, match="'num_fallback' can only be"):
        sampler.num_fallback = 5
    # A new fit restarts the count.
    sampler.sample_negatives(torch.tensor([3]))
    sampler.fit(SMALL, (4, 6))
    assert sampler.num_fallback == 0


def test_unsatisfiable_source_raises_drops_or_gets_minus_one():
    # User 0 has adjacent_hops=3 reach over every item: nothing to draw,
    # although item 2 is not one of its positives.
    edge_index = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 2]])
    sampler = RegionSampler(k=5, adjacent_hops=3, seed=0)
    sampler.fit(edge_index, (2, 3))
    assert sampler.region_report()['unsatisfiable_sources'] == 2
    with pytest.raises(
        UnsatisfiableError,
        match='source node 0 .* every destination is in its adjacent region',
    ):
        sampler.sample_negatives(torch.tensor([0]))
    assert sampler.sample_trusted(torch.tensor([0, 1]), 2).tolist() == [
        [-1, -1],
        [-1, -1],
    ]
    lp = sampler.log_prob(torch.tensor([0]), torch.arange(3))
    assert bool(torch.isinf(lp).all())
    with pytest.raises(UnsatisfiableError, match='no source node has'):
        RegionSampler('binary', k=5, adjacent_hops=3).fit(
            edge_index, (2, 3)
        ).sample_pairs(3)
    dropping = RegionSampler(on_unsatisfiable='drop', seed=0)
    dropping.fit(torch.tensor([[0, 0, 0, 1], [0, 1, 2, 0]]), (2, 3))
    with pytest.warns(UserWarning, match='dropped 2'):
        neg, keep = dropping.sample_negatives(
            torch.tensor([0, 1, 0]), return_mask=True
        )
    assert keep.tolist() == [False, True, False]
    assert dropping.num_dropped == 2 and neg.shape == (1, 1)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    num_users=st.integers(1, 8),
    num_items=st.integers(2, 10),
    density=st.floats(0.0, 0.7),
    share=st.sampled_from([0.0, 0.3, 1.0]),
    hops=st.sampled_from([(3, 1), (5, 1), (5, 3)]),
    num_extra=st.integers(0, 4),
)
def test_positives_and_extra_positives_are_never_drawn(
    seed, num_users, num_items, density, share, hops, num_extra
):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(num_users, num_items, generator=gen) < density
    extra = torch.stack(
        [
            torch.randint(num_users, (num_extra,), generator=gen),
            torch.randint(num_items, (num_extra,), generator=gen),
        ]
    )
    k, a = hops
    sampler = RegionSampler(
        k=k,
        adjacent_hops=a,
        distant_share=share,
        seed=seed,
        on_unsatisfiable='drop',
    )
    sampler.fit(
        mask.nonzero().t(), (num_users, num_items), extra_positives=extra
    )
    forbidden = mask.clone()
    forbidden[extra[0], extra[1]] = True
    src = torch.arange(num_users).repeat(3)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        neg, keep = sampler.sample_negatives(src, num_neg=5, return_mask=True)
    assert not bool(forbidden[src[keep].view(-1, 1), neg].any())
    labels = _labels(sampler, num_users, num_items)
    assert not bool((labels[src[keep].view(-1, 1), neg] == 2).any())
    # Exactly the sources with no intermediate and no distant item drop.
    assert torch.equal(keep, ~(labels == 2).all(1)[src])


def test_homogeneous_undirected_never_draws_a_reversed_edge():
    # A path 0 - 1 - 2 - 3 - 4 - 5 given in one direction only.
    edge_index = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])
    sampler = RegionSampler(amount=200, k=2, undirected=True, seed=0)
    sampler.fit(edge_index, 6)
    neg = sampler.sample_negatives(torch.arange(6))
    # Within two hops both ways, neither the node nor a neighbour:
    expect = [{2}, {3}, {0, 4}, {1, 5}, {2}, {3}]
    assert [set(row.tolist()) for row in neg] == expect
    directed = RegionSampler(amount=200, k=2, seed=0).fit(edge_index, 6)
    assert set(directed.sample_negatives(torch.tensor([2]))[0].tolist()) == {4}


def test_hetero_regions_per_edge_type():
    data = HeteroData()
    data['user'].num_nodes = 4
    data['item'].num_nodes = 6
    data['user', 'rates', 'item'].edge_index = SMALL
    follows = torch.tensor([[0, 1, 2], [1, 2, 3]])
    data['user', 'follows', 'user'].edge_index = follows
    sampler = RegionSampler(amount=100, k=3, distant_share=0.2, seed=0)
    sampler.fit(data)
    rates = sampler.region(('user', 'item'))
    assert rates.bipartite and (rates.num_users, rates.num_items) == (4, 6)
    expect = KHopRegion(SMALL, (4, 6), k=3)
    assert torch.equal(rates.sizes(), expect.sizes())
    social = sampler.region(('user', 'follows', 'user'))
    assert not social.bipartite and social.num_items == 4
    assert torch.equal(social.sizes(), KHopRegion(follows, 4, 3).sizes())
    neg = sampler.sample_negatives(torch.arange(3), edge_type=('user', 'item'))
    for u in range(3):
        assert set(neg[u].tolist()) == INTERMEDIATE[u] | DISTANT[u]
    neg = sampler.sample_negatives(
        torch.tensor([0]), edge_type=('user', 'follows', 'user')
    )
    assert set(neg[0].tolist()) == {2, 3}  # never 0 itself nor 1
    # An even k fits the homogeneous type but not the bipartite one.
    RegionSampler(k=2).fit(data, edge_type=('user', 'follows', 'user'))
    with pytest.raises(ValueError, match="'k' must be odd on a bipartite"):
        RegionSampler(k=2).fit(data)


def test_walk_regions_are_seeded_and_exact_about_positives():
    edge_index, mask = _random_graph(4, density=0.15)

    def draw(seed):
        sampler = RegionSampler(method='walk', num_walks=4, seed=seed)
        sampler.fit(edge_index, (12, 40))
        return sampler, sampler.sample_negatives(torch.arange(12), num_neg=50)

    sampler, neg = draw(5)
    assert torch.equal(neg, draw(5)[1])
    assert not bool(mask[torch.arange(12).view(-1, 1), neg].any())
    exact = RegionSampler().fit(edge_index, (12, 40))
    walked = sampler.region().sizes()
    assert bool((walked <= exact.region().sizes()).all())
    gen = torch.Generator().manual_seed(5)
    other = RegionSampler(method='walk', num_walks=4, generator=gen)
    assert torch.equal(
        other.fit(edge_index, (12, 40)).region().sizes(), walked
    )


def test_static_hook_draws_the_region_marginal():
    sampler = RegionSampler(seed=0)
    with pytest.raises(RuntimeError, match="needs 'fit"):
        sampler.sample(3, 'dst', 6)
    sampler.fit(SMALL, (4, 6))
    num = 6000
    out = sampler.sample(num, 'dst', 6)
    assert out.device.type == 'cpu' and out.shape == (num,)
    # Sources in proportion to their training edges (2, 1, 3; user 3 has
    # none), then one region draw.
    weight = torch.tensor([2.0, 1.0, 3.0, 0.0]).double() / 6
    lp = sampler.log_prob(torch.arange(4).view(-1, 1), torch.arange(6))
    expect = (weight.view(-1, 1) * lp.exp()).sum(0)
    count = torch.bincount(out, minlength=6)
    keep = expect > 0
    assert bool((count[~keep] == 0).all())
    pvalue = chisquare(count[keep].numpy(), (expect[keep] * num).numpy())[1]
    assert pvalue > 1e-4
    assert sampler.sample(4, 'src', 4).max() < 4
    with pytest.raises(ValueError, match='cannot tell which fitted edge'):
        sampler.sample(3, 'dst', 7)
    edge_index = torch.tensor([[0, 0, 0], [0, 1, 2]])
    full = RegionSampler().fit(edge_index, (1, 3))
    with pytest.raises(UnsatisfiableError, match='no source of a training'):
        full.sample(3, 'dst', 3)


def test_loader_and_transform_give_only_valid_negatives():
    gen = torch.Generator().manual_seed(0)
    edge_index = torch.randint(10, (2, 40), generator=gen)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    data = Data(edge_index=edge_index, num_nodes=10)
    held = torch.tensor([[0, 1, 2], [5, 6, 7]])
    positives = set(map(tuple, torch.cat([edge_index, held], 1).t().tolist()))
    sampler = RegionSampler(amount=3, k=3, distant_share=0.2, seed=0)
    loader = LinkNeighborLoader(
        data,
        [2],
        neg_sampling=sampler,
        extra_positives=held,
        batch_size=8,
        shuffle=True,
    )
    seen = 0
    for batch in loader:
        src = batch.n_id[batch.src_index]
        neg = batch.n_id[batch.dst_neg_index].view(src.numel(), -1)
        for u, row in zip(src.tolist(), neg.tolist()):
            assert all((u, v) not in positives and u != v for v in row)
        seen += src.numel()
    assert seen == edge_index.size(1)
    transform = AddNegativeSamples(
        RegionSampler('binary', 2, seed=1), extra_positives=held
    )
    out = transform(data)
    neg = out.edge_label_index[:, edge_index.size(1) :]
    assert neg.size(1) == 2 * edge_index.size(1)
    assert not set(map(tuple, neg.t().tolist())) & positives
    assert bool((neg[0] != neg[1]).all())


def test_share_memory_and_to_move_the_regions():
    sampler = RegionSampler(seed=0).fit(SMALL, (4, 6))
    sampler.sample_negatives(torch.tensor([3]))
    sampler.share_memory_()
    region = sampler.region()
    assert region.sizes().is_shared() and region.distant_sizes().is_shared()
    assert sampler.index().keys.is_shared()
    assert sampler.to('cpu') is sampler
    assert sampler.num_fallback == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_cpu_regions_and_counts():
    cpu = RegionSampler(seed=0, distant_share=0.5).fit(SMALL, (4, 6))
    gpu = RegionSampler(seed=0, distant_share=0.5).fit(SMALL, (4, 6))
    gpu.to('cuda')
    assert gpu.region().device.type == 'cuda'
    neg = gpu.sample_negatives(torch.arange(4).cuda(), num_neg=100)
    assert neg.device.type == 'cuda'
    for u in range(4):
        assert set(neg[u].tolist()) <= INTERMEDIATE[u] | DISTANT[u]
    assert gpu.num_fallback == 1
    lp = gpu.log_prob(
        torch.arange(4).cuda().view(-1, 1), torch.arange(6).cuda()
    )
    expect = cpu.log_prob(torch.arange(4).view(-1, 1), torch.arange(6))
    assert torch.allclose(lp.cpu(), expect, rtol=1e-12, atol=0)


def test_argument_errors_are_named():
    cases = [
        (dict(filtered=False), ValueError, "'filtered' must be True"),
        (dict(allow_self=True), ValueError, "'allow_self' must be False"),
        (dict(k=0), ValueError, "'k' must be"),
        (dict(k=2.0), TypeError, "'k' must be an int"),
        (dict(adjacent_hops=-1), ValueError, "'adjacent_hops' must be non"),
        (dict(k=3, adjacent_hops=3), ValueError, "'adjacent_hops' must be sm"),
        (dict(distant_share=1.5), ValueError, "'distant_share' must be"),
        (dict(distant_share=-0.1), ValueError, "'distant_share' must be"),
        (dict(distant_share='x'), TypeError, "'distant_share' must be"),
        (dict(method='bfs'), ValueError, "'method' must be one of"),
        (dict(memory_budget=0), ValueError, "'memory_budget' must be"),
        (dict(block_size=0), ValueError, "'block_size' must be a positive"),
        (dict(num_walks=0), ValueError, "'num_walks' must be a positive"),
        (dict(amount=1.5), ValueError, "'amount' must be an integer"),
    ]
    for kwargs, error, match in cases:
        with pytest.raises(error, match=match):
            RegionSampler(**kwargs)
    with pytest.raises(ValueError, match="'k' must be odd on a bipartite"):
        RegionSampler(k=4).fit(SMALL, (4, 6))
    with pytest.raises(ValueError, match='adjacent_hops.* must be odd'):
        RegionSampler(k=5, adjacent_hops=2).fit(SMALL, (4, 6))
    with pytest.raises(ValueError, match='memory_budget'):
        RegionSampler(memory_budget=8).fit(SMALL, (4, 6))
    # adjacent_hops=0 (the node alone) exists on homogeneous graphs only.
    with pytest.raises(ValueError, match="'adjacent_hops' must be a posit"):
        RegionSampler(adjacent_hops=0).fit(SMALL, (4, 6))
    with pytest.raises(RuntimeError, match="call 'fit"):
        RegionSampler().region()
    sampler = RegionSampler().fit(SMALL, (4, 6))
    with pytest.raises(ValueError, match="'edge_type' .* was not fitted"):
        sampler.region(('a', 'b', 'c'))
    # A failed fit keeps the previous regions.
    with pytest.raises(ValueError, match="'edge_index\\[1\\]' holds node"):
        sampler.fit(torch.tensor([[0], [9]]), (4, 6))
    assert sampler.region().num_items == 6
    assert math.isclose(
        float(sampler.log_prob(torch.tensor([2]), torch.tensor([4]))), 0.0
    )
