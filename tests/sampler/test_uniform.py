import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from torch_geometric_negsamp import UniformSampler


@st.composite
def graphs(draw):
    num_src = draw(st.integers(1, 12))
    num_dst = draw(st.integers(2, 12))
    num_edges = draw(st.integers(0, num_src * num_dst))
    pairs = draw(
        st.lists(
            st.tuples(
                st.integers(0, num_src - 1), st.integers(0, num_dst - 1)
            ),
            min_size=num_edges,
            max_size=num_edges,
        )
    )
    edge_index = torch.tensor(pairs, dtype=torch.long).view(-1, 2).t()
    return edge_index, num_src, num_dst


@settings(max_examples=60, deadline=None)
@given(graph=graphs(), k=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_no_negative_is_a_positive_and_count_is_exact(graph, k, seed):
    edge_index, num_src, num_dst = graph
    sampler = UniformSampler(amount=k, seed=seed, on_unsatisfiable='drop')
    sampler.fit(edge_index, (num_src, num_dst))
    pos = set(map(tuple, edge_index.t().tolist()))
    src = torch.arange(num_src)
    with (
        pytest.warns(UserWarning)
        if any(
            sum((u, v) in pos for v in range(num_dst)) == num_dst
            for u in range(num_src)
        )
        else _nullcontext()
    ):
        neg, keep = sampler.sample_negatives(src, return_mask=True)
    full = {
        u for u in range(num_src) if all((u, v) in pos for v in range(num_dst))
    }
    assert keep.tolist() == [u not in full for u in range(num_src)]
    assert neg.shape == (num_src - len(full), k)
    for u, row in zip(src[keep].tolist(), neg.tolist()):
        assert all((u, v) not in pos and 0 <= v < num_dst for v in row)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


def test_homogeneous_excludes_self_unless_allowed():
    edge_index = torch.tensor([[0, 1], [1, 2]])
    sampler = UniformSampler(amount=50, seed=0).fit(edge_index, 3)
    neg = sampler.sample_negatives(torch.tensor([0, 1, 2]))
    assert set(neg[0].tolist()) == {2}
    assert set(neg[1].tolist()) == {0}
    assert set(neg[2].tolist()) == {0, 1}
    sampler = UniformSampler(amount=50, seed=0, allow_self=True)
    neg = sampler.fit(edge_index, 3).sample_negatives(torch.tensor([0]))
    assert set(neg[0].tolist()) == {0, 2}
    sampler = UniformSampler(amount=50, seed=0, undirected=True)
    neg = sampler.fit(edge_index, 3).sample_negatives(torch.tensor([0, 2]))
    assert set(neg[0].tolist()) == {2}
    assert set(neg[1].tolist()) == {0}  # (1, 2) is also (2, 1)


def test_undirected_source_with_no_negative_raises():
    edge_index = torch.tensor([[0, 1], [1, 2]])
    sampler = UniformSampler(seed=0, undirected=True).fit(edge_index, 3)
    with pytest.raises(
        ValueError, match='source node 1 has no valid negative'
    ):
        sampler.sample_negatives(torch.tensor([0, 1]))


def test_chi_square_uniform_over_non_neighbours():
    edge_index = torch.tensor([[0, 0, 0], [2, 5, 7]])
    sampler = UniformSampler(amount=4000, seed=1).fit(edge_index, (1, 10))
    neg = sampler.sample_negatives(torch.tensor([0]))[0]
    counts = torch.bincount(neg, minlength=10)
    assert counts[[2, 5, 7]].sum() == 0
    allowed = [v for v in range(10) if v not in (2, 5, 7)]
    assert chisquare(counts[allowed].numpy()).pvalue > 1e-3
    # Negative control: the same test rejects a skewed distribution.
    skewed = counts[allowed].clone()
    skewed[0] += 600
    assert chisquare(skewed.numpy()).pvalue < 1e-3


def test_binary_pairs_uniform_over_non_edges():
    # Source 0 has 1 non-edge, source 1 has 3: pairs must be uniform over
    # the 4 non-edges, so source 1 is drawn 3x as often.
    edge_index = torch.tensor([[0, 0, 0], [0, 1, 2]])
    sampler = UniformSampler('binary', seed=0).fit(edge_index, (2, 4))
    src, dst = sampler.sample_pairs(8000)
    pairs = src * 4 + dst
    counts = torch.bincount(pairs, minlength=8)
    assert counts[:3].sum() == 0
    assert chisquare(counts[3:].numpy()).pvalue > 1e-3


def test_unfiltered_may_hit_positives():
    edge_index = torch.tensor([[0, 0, 0], [0, 1, 2]])
    sampler = UniformSampler(amount=200, seed=0, filtered=False)
    neg = sampler.fit(edge_index, (1, 4)).sample_negatives(torch.tensor([0]))
    assert set(neg[0].tolist()) == {0, 1, 2, 3}


def test_determinism_with_seed_and_generator():
    edge_index = torch.randint(
        50, (2, 300), generator=torch.Generator().manual_seed(0)
    )
    src = torch.arange(50)

    def draw(**kwargs):
        sampler = UniformSampler(amount=3, **kwargs).fit(edge_index, 50)
        return sampler.sample_negatives(src), sampler.sample_negatives(src)

    a1, a2 = draw(seed=7)
    b1, b2 = draw(seed=7)
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.equal(a1, a2)  # the stream advances
    c1, _ = draw(generator=torch.Generator().manual_seed(7))
    assert torch.equal(a1, c1)
    d1, _ = draw(seed=8)
    assert not torch.equal(a1, d1)


def test_workers_get_distinct_reproducible_streams(monkeypatch):
    import torch.utils.data as tud

    edge_index = torch.tensor([[0], [1]])
    sampler = UniformSampler(amount=20, seed=3).fit(edge_index, 100)

    class Info:
        def __init__(self, seed):
            self.seed, self.id = seed, seed

    def in_worker(worker_seed):
        monkeypatch.setattr(tud, 'get_worker_info', lambda: Info(worker_seed))
        sampler._worker_key = None
        return sampler.sample_negatives(torch.tensor([0]))

    w0, w1, w0_again = in_worker(100), in_worker(101), in_worker(100)
    assert not torch.equal(w0, w1)
    assert torch.equal(w0, w0_again)


def test_static_hook_for_pyg_loader():
    sampler = UniformSampler('binary', seed=0)
    out = sampler.sample(1000, 'dst', num_nodes=7)
    assert out.shape == (1000,) and out.min() >= 0 and out.max() == 6
    with pytest.raises(ValueError, match="'num_nodes' is needed"):
        sampler.sample(10, 'dst')


def test_cast_passes_instance_through():
    from torch_geometric.sampler import NegativeSampling

    sampler = UniformSampler('triplet', 2)
    assert NegativeSampling.cast(sampler) is sampler


def test_repr():
    assert repr(UniformSampler('binary', 2, seed=1)) == (
        "UniformSampler(mode='binary', amount=2, filtered=True, seed=1)"
    )
