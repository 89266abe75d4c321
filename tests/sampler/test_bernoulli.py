import pytest
import torch
from scipy.stats import binomtest

from torch_geometric_negsamp import BernoulliSampler


def _kg():
    # Relation 0 is one-to-many (1 head, 3 tails): tph = 3, hpt = 1, so
    # heads are corrupted with probability 3/4. Relation 1 is many-to-one
    # (3 heads, 1 tail): probability 1/4.
    head = torch.tensor([0, 0, 0, 1, 2, 3])
    tail = torch.tensor([1, 2, 3, 4, 4, 4])
    rel = torch.tensor([0, 0, 0, 1, 1, 1])
    return torch.stack([head, tail]), rel


def test_head_probability_tph_hpt():
    edge_index, rel = _kg()
    sampler = BernoulliSampler(seed=0).fit(edge_index, rel, num_nodes=6)
    assert torch.allclose(
        sampler.head_prob.float(), torch.tensor([0.75, 0.25])
    )
    uniform = BernoulliSampler(bernoulli=False).fit(edge_index, rel, 6)
    assert uniform.head_prob.tolist() == [0.5, 0.5]


def test_corruption_side_frequency_and_filtering():
    edge_index, rel = _kg()
    sampler = BernoulliSampler(amount=2000, seed=0)
    sampler.fit(edge_index, rel, num_nodes=6)
    head, tail = edge_index
    neg_head, neg_tail = sampler.sample_triples(head, rel, tail)
    assert neg_head.shape == neg_tail.shape == (6, 2000)
    known = set(zip(head.tolist(), rel.tolist(), tail.tolist()))
    for i in range(6):
        h_changed = neg_head[i] != head[i]
        t_changed = neg_tail[i] != tail[i]
        assert not (h_changed & t_changed).any()  # one side at a time
        for h, t in zip(neg_head[i].tolist(), neg_tail[i].tolist()):
            assert (h, int(rel[i]), t) not in known
    # Triple (0, 0, 1): corrupting the head never yields a known triple, so
    # the head side is chosen with probability 3/4.
    n_head = int((neg_head[0] != 0).sum())
    assert binomtest(n_head, 2000, 0.75).pvalue > 1e-3
    n_head = int((neg_head[3] != 1).sum())  # relation 1 -> 1/4
    assert binomtest(n_head, 2000, 0.25).pvalue > 1e-3


def test_falls_back_to_other_side_and_raises_when_none():
    # Two entities; (0, r, 1) and (1, r, 1): corrupting the head of (0, r, 1)
    # is impossible (both heads are known with tail 1), the tail is possible.
    edge_index = torch.tensor([[0, 1], [1, 1]])
    rel = torch.tensor([0, 0])
    sampler = BernoulliSampler(amount=50, seed=0).fit(edge_index, rel, 2)
    neg_head, neg_tail = sampler.sample_triples(
        torch.tensor([0]), torch.tensor([0]), torch.tensor([1])
    )
    assert (neg_head == 0).all() and (neg_tail == 0).all()
    full = torch.tensor([[0, 0, 1, 1], [0, 1, 0, 1]])
    sampler = BernoulliSampler().fit(full, torch.zeros(4, dtype=torch.long), 2)
    with pytest.raises(ValueError, match=r'triple \(0, 0, 1\) has no valid'):
        sampler.sample_triples(
            torch.tensor([0]), torch.tensor([0]), torch.tensor([1])
        )


def test_extra_positives_are_avoided():
    edge_index, rel = _kg()
    extra = (torch.tensor([[5], [1]]), torch.tensor([0]))
    sampler = BernoulliSampler(amount=500, seed=0)
    sampler.fit(edge_index, rel, 6, extra_positives=extra)
    neg_head, neg_tail = sampler.sample_triples(
        torch.tensor([0]), torch.tensor([0]), torch.tensor([1])
    )
    assert not ((neg_head == 5) & (neg_tail == 1)).any()
    assert set(neg_head[neg_tail == 1].tolist()) == {1, 2, 3, 4}


def test_unfiltered_and_from_data():
    from torch_geometric.data import Data

    edge_index, rel = _kg()
    data = Data(edge_index=edge_index, edge_type=rel, num_nodes=6)
    sampler = BernoulliSampler(amount=400, seed=0, filtered=False).fit(data)
    neg_head, neg_tail = sampler.sample_triples(
        torch.tensor([0]), torch.tensor([0]), torch.tensor([1])
    )
    # Unfiltered draws may reproduce the known triple itself:
    assert ((neg_head == 0) & (neg_tail == 1)).any()


def test_determinism():
    edge_index, rel = _kg()
    a = BernoulliSampler(amount=5, seed=3).fit(edge_index, rel, 6)
    b = BernoulliSampler(amount=5, seed=3).fit(edge_index, rel, 6)
    args = (edge_index[0], rel, edge_index[1])
    assert all(
        torch.equal(x, y)
        for x, y in zip(a.sample_triples(*args), b.sample_triples(*args))
    )


def test_errors():
    edge_index, rel = _kg()
    sampler = BernoulliSampler()
    with pytest.raises(RuntimeError, match="call 'fit"):
        sampler.sample_triples(edge_index[0], rel, edge_index[1])
    with pytest.raises(ValueError, match="'edge_type' .* is required"):
        sampler.fit(edge_index)
    with pytest.raises(ValueError, match="'edge_type' must have one entry"):
        sampler.fit(edge_index, rel[:2])
    with pytest.raises(ValueError, match="'edge_index' holds node index 4"):
        sampler.fit(edge_index, rel, num_nodes=4)
    with pytest.raises(TypeError, match="'extra_positives' must be a pair"):
        sampler.fit(edge_index, rel, 6, extra_positives=edge_index)
    sampler.fit(edge_index, rel, 6)
    with pytest.raises(ValueError, match="'rel' must have 6 entries"):
        sampler.sample_triples(edge_index[0], rel[:2], edge_index[1])
    with pytest.raises(ValueError, match="'rel' holds node index 2"):
        sampler.sample_triples(edge_index[0], rel + 1, edge_index[1])
    with pytest.raises(TypeError, match='use .sample_triples'):
        sampler.sample_negatives(edge_index[0])
    with pytest.raises(TypeError, match='use .sample_triples'):
        sampler.sample_pairs(3)
    with pytest.raises(TypeError, match="'bernoulli' must be a bool"):
        BernoulliSampler(bernoulli=1)


def test_drop_is_refused_and_amount_is_rounded_up():
    with pytest.raises(ValueError, match="on_unsatisfiable='raise' only"):
        BernoulliSampler(on_unsatisfiable='drop')
    edge_index, rel = _kg()
    sampler = BernoulliSampler('binary', amount=1.5, seed=0)
    sampler.fit(edge_index, rel, 6)
    neg_head, _ = sampler.sample_triples(edge_index[0], rel, edge_index[1])
    assert neg_head.shape == (6, 2)


def test_unsatisfiable_triple_raises_before_any_draw():
    full = torch.tensor([[0, 0, 1, 1], [0, 1, 0, 1]])
    sampler = BernoulliSampler(seed=0).fit(
        full, torch.zeros(4, dtype=torch.long), 2
    )
    state = sampler.get_generator().get_state()
    with pytest.raises(ValueError, match='has no valid corruption'):
        sampler.sample_triples(
            torch.tensor([0]), torch.tensor([0]), torch.tensor([1])
        )
    assert torch.equal(sampler.get_generator().get_state(), state)
