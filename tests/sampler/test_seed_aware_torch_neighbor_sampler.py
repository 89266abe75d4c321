import pytest
import torch
import torch_geometric.loader
from torch_geometric.sampler import HeteroSamplerOutput

from torch_geometric_negsamp import PopularitySampler, UniformSampler
from torch_geometric_negsamp.sampler import (
    SeedAwareTorchNeighborSampler,
    TorchNeighborSampler,
)

RATES = ('user', 'rates', 'item')


def _args(kind):
    return {} if kind == 'homo' else {'edge_label_index': RATES}


@pytest.mark.parametrize('kind', ['homo', 'hetero'])
@pytest.mark.parametrize('mode', ['triplet', 'binary'])
@pytest.mark.parametrize('amount', [1, 3])
def test_pyg_loader_accepts_our_sampler(make_graph, kind, mode, amount):
    # PyG's own loader, our sampler as 'neg_sampling=' and the pure-PyTorch
    # backend injected: the static (unfiltered) hook is used.
    data = make_graph(kind)
    loader = torch_geometric.loader.LinkNeighborLoader(
        data,
        [2],
        batch_size=4,
        neg_sampling=PopularitySampler(mode, amount, seed=0).fit(
            data, edge_type=RATES if kind == 'hetero' else None
        ),
        neighbor_sampler=TorchNeighborSampler(data, [2]),
        **_args(kind),
    )
    batch = next(iter(loader))
    store = (
        batch
        if kind == 'homo'
        else (batch['item'] if mode == 'triplet' else batch[RATES])
    )
    if mode == 'triplet':
        shape = (4,) if amount == 1 else (4, amount)
        assert store.dst_neg_index.shape == shape
    else:
        assert store.edge_label_index.shape == (2, 4 + 4 * amount)
        assert float(store.edge_label.sum()) == 4.0


@pytest.mark.parametrize('disjoint', [False, True])
def test_pyg_loader_with_seed_aware_backend_filters(make_graph, disjoint):
    # Every node but u and u + 1 is a positive of u: as a node is not its
    # own negative, u + 1 is the only valid one.
    edges = [
        (u, v) for u in range(5) for v in range(5) if v not in (u, (u + 1) % 5)
    ]
    data = make_graph('homo', edges, 5)
    sampler = UniformSampler('triplet', 3).fit(data)
    loader = torch_geometric.loader.LinkNeighborLoader(
        data,
        [1],
        batch_size=4,
        neg_sampling=sampler,
        neighbor_sampler=SeedAwareTorchNeighborSampler(
            data, [1], disjoint=disjoint
        ),
    )
    for batch in loader:
        src = batch.n_id[batch.src_index]
        neg = batch.n_id[batch.dst_neg_index]
        assert torch.equal(neg, ((src + 1) % 5).view(-1, 1).expand(-1, 3))


def test_unfitted_sampler_raises(make_graph):
    data = make_graph('homo')
    loader = torch_geometric.loader.LinkNeighborLoader(
        data,
        [1],
        batch_size=4,
        neg_sampling=UniformSampler(),
        neighbor_sampler=SeedAwareTorchNeighborSampler(data, [1]),
    )
    with pytest.raises(RuntimeError, match='fit'):
        next(iter(loader))


def test_is_a_torch_neighbor_sampler(make_graph):
    data = make_graph('hetero')
    sampler = SeedAwareTorchNeighborSampler(data, [1])
    assert isinstance(sampler, TorchNeighborSampler)
    out = sampler._sample({'user': torch.tensor([1])})
    assert isinstance(out, HeteroSamplerOutput)
    assert out.node['user'].tolist() == [1]
    # User 1 rates items 1, 2, 3; one of them is drawn:
    assert out.node['item'].numel() == 1 and int(out.node['item']) in (1, 2, 3)
    assert repr(sampler).startswith('SeedAwareTorchNeighborSampler(')
