import pytest
import torch
from torch_geometric.sampler import EdgeSamplerInput, NegativeSampling

from torch_geometric_negsamp import UniformSampler
from torch_geometric_negsamp.loader import SeedAwareTorchNeighborSampler
from torch_geometric_negsamp.loader.seed_aware_mixin import (
    _BatchNegativeSampling,
    _triplet_layout,
)


def test_triplet_layout():
    neg = torch.tensor([[10, 11, 12], [20, 21, 22]])  # [B=2, k=3]
    # Without disjoint PyG reads flat.view(B, k), with it flat.view(k, B).t()
    flat = _triplet_layout(neg, disjoint=False)
    assert torch.equal(flat.view(2, 3), neg)
    flat = _triplet_layout(neg, disjoint=True)
    assert torch.equal(flat.view(3, 2).t(), neg)


def test_stand_in_returns_prepared_negatives_once():
    parent = UniformSampler('binary', 2)
    stand_in = _BatchNegativeSampling(
        parent, src=torch.tensor([1, 2]), dst=torch.tensor([3, 4])
    )
    assert stand_in.is_binary() and stand_in.amount == 2
    assert stand_in.sample(2, 'src').tolist() == [1, 2]
    with pytest.raises(RuntimeError, match=r"never asked .* \['dst'\]"):
        stand_in.check_consumed()
    assert stand_in.sample(2, 'dst').tolist() == [3, 4]
    stand_in.check_consumed()
    with pytest.raises(RuntimeError, match='not prepared'):
        stand_in.sample(2, 'dst')


def test_stand_in_count_mismatch_raises():
    stand_in = _BatchNegativeSampling(
        UniformSampler('triplet', 2), src=None, dst=torch.arange(6)
    )
    with pytest.raises(RuntimeError, match='asked .* for 4 .* but 6'):
        stand_in.sample(4, 'dst')
    with pytest.raises(RuntimeError, match="'src' negatives that were not"):
        stand_in.sample(6, 'src')


def test_unconsumed_negatives_raise(make_graph, monkeypatch):
    # If PyG stopped asking for the negatives, the batch must not pass.
    data = make_graph('homo')
    sampler = SeedAwareTorchNeighborSampler(data, [1])
    monkeypatch.setattr(
        _BatchNegativeSampling,
        'sample',
        lambda self, n, e, num_nodes=None: (
            torch.zeros(n, dtype=torch.long)
            if e == 'src'
            else self._pending.pop('dst')[:0]
        ),
    )
    inputs = EdgeSamplerInput(None, torch.tensor([0, 1]), torch.tensor([1, 2]))
    neg = UniformSampler('binary').fit(data)
    with pytest.raises(RuntimeError, match='never asked'):
        sampler.sample_from_edges(inputs, neg)


def test_other_neg_sampling_is_untouched(make_graph):
    data = make_graph('homo')
    sampler = SeedAwareTorchNeighborSampler(data, [1])
    inputs = EdgeSamplerInput(None, torch.tensor([0, 1]), torch.tensor([1, 2]))
    out = sampler.sample_from_edges(inputs, NegativeSampling('triplet', 2))
    assert out.metadata[3].shape == (2, 2)
    out = sampler.sample_from_edges(inputs)
    assert out.metadata[1].shape == (2, 2)


def test_node_time_raises(make_graph):
    data = make_graph('homo')
    sampler = SeedAwareTorchNeighborSampler(data, [1])
    sampler.node_time = torch.arange(8)
    inputs = EdgeSamplerInput(None, torch.tensor([0]), torch.tensor([1]))
    with pytest.raises(NotImplementedError, match='node-level temporal'):
        sampler.sample_from_edges(inputs, UniformSampler().fit(data))
