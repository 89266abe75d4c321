import pytest
import torch
from torch_geometric.sampler import (
    EdgeSamplerInput,
    HeteroSamplerOutput,
    NegativeSampling,
    SamplerOutput,
)
from torch_geometric.sampler.neighbor_sampler import edge_sample

from torch_geometric_negsamp import UniformSampler
from torch_geometric_negsamp.sampler import SeedAwareTorchNeighborSampler
from torch_geometric_negsamp.sampler.seed_aware_mixin import (
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


# PyG's own layouts, pinned on 'edge_sample' itself (PyG 2.8.1), so that an
# upgrade that changes them fails here, whatever backend is installed.
RATES = ('user', 'rates', 'item')
B, K, NUM_NODES = 3, 2, 1000


class _Coded(NegativeSampling):
    r"""Returns the negatives 100, 101, ... for 'dst' and 500, 501, ...
    for 'src', in the flat order PyG asks for them."""

    def sample(self, num_samples, endpoint, num_nodes=None):
        return torch.arange(num_samples) + (100 if endpoint == 'dst' else 500)


def _seeds_only(seed, seed_time=None):
    r"""A neighbour sampler that returns the seeds alone."""
    empty = torch.empty(0, dtype=torch.long)
    if isinstance(seed, dict):
        return HeteroSamplerOutput(
            node=seed,
            row={RATES: empty},
            col={RATES: empty},
            edge={RATES: empty},
            batch={key: torch.arange(v.numel()) for key, v in seed.items()},
        )
    return SamplerOutput(
        node=seed,
        row=empty,
        col=empty,
        edge=empty,
        batch=torch.arange(seed.numel()),
    )


def _pyg_edge_sample(kind, mode, layout):
    r"""Runs PyG's 'edge_sample' on B positives; returns the negatives it
    wrote back, as global ids: [B, K] in triplet mode, (src, dst) in binary
    mode."""
    disjoint = layout != 'plain'
    inputs = EdgeSamplerInput(
        input_id=torch.arange(B),
        row=torch.arange(B),
        col=torch.arange(B) + 10,
        time=torch.zeros(B, dtype=torch.long)
        if layout == 'temporal'
        else None,
        input_type=RATES if kind == 'hetero' else None,
    )
    num_nodes = (
        {'user': NUM_NODES, 'item': NUM_NODES}
        if kind == 'hetero'
        else NUM_NODES
    )
    out = edge_sample(
        inputs, _seeds_only, num_nodes, disjoint, None, _Coded(mode, K)
    )
    node = out.node
    src_node = node['user'] if kind == 'hetero' else node
    dst_node = node['item'] if kind == 'hetero' else node
    if mode == 'triplet':
        return dst_node[out.metadata[3]]
    index = out.metadata[1]
    return src_node[index[0, B:]], dst_node[index[1, B:]]


@pytest.mark.parametrize('kind', ['homo', 'hetero'])
@pytest.mark.parametrize(
    'layout,read',
    [
        # Positive-major without disjoint: negative j to positive j // K.
        ('plain', lambda flat: flat.view(B, K)),
        # Amount-major with disjoint and in temporal mode: to j % B.
        ('disjoint', lambda flat: flat.view(K, B).t()),
        ('temporal', lambda flat: flat.view(K, B).t()),
    ],
)
def test_pyg_triplet_layouts_are_pinned(kind, layout, read):
    flat = torch.arange(B * K) + 100  # in the order PyG asked for them
    got = _pyg_edge_sample(kind, 'triplet', layout)
    assert torch.equal(got, read(flat))
    # Negative control: the other layout reads them differently.
    other = flat.view(K, B).t() if layout == 'plain' else flat.view(B, K)
    assert not torch.equal(got, other)
    # And the mixin's layout is the inverse of PyG's: row i comes back.
    neg = torch.arange(B * K).view(B, K) + 100
    assert torch.equal(read(_triplet_layout(neg, layout != 'plain')), neg)


@pytest.mark.parametrize('kind', ['homo', 'hetero'])
@pytest.mark.parametrize('layout', ['plain', 'disjoint', 'temporal'])
def test_pyg_binary_pairing_is_pinned(kind, layout):
    # Binary mode pairs the j-th 'src' draw with the j-th 'dst' draw.
    src, dst = _pyg_edge_sample(kind, 'binary', layout)
    assert torch.equal(src, torch.arange(B * K) + 500)
    assert torch.equal(dst, torch.arange(B * K) + 100)
    assert not torch.equal(dst, (torch.arange(B * K) + 100).flip(0))


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
