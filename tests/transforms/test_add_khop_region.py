import pytest
import torch
from torch_geometric.data import Data, HeteroData

from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.transforms import AddKHopRegion


def _hetero():
    # User 0 - item 0 - user 1 - items 1, 2; user 2 - item 3.
    data = HeteroData()
    data['user'].num_nodes = 3
    data['item'].num_nodes = 4
    data['user', 'rates', 'item'].edge_index = torch.tensor(
        [[0, 1, 1, 1, 2], [0, 0, 1, 2, 3]]
    )
    return data


def test_hetero_data_with_the_shorthand():
    transform = AddKHopRegion(
        k=3,
        edge_type=('user', 'item'),
        extra_positives=torch.tensor([[0], [3]]),
    )
    data = transform(_hetero())
    region = data['user', 'rates', 'item'].khop_region
    assert isinstance(region, KHopRegion) and region.bipartite
    # User 0: items 1, 2 in three hops (user 1 has them already); item 3
    # is an extra positive of user 0.
    assert region.sizes().tolist() == [2, 0, 0]
    assert region.region_of(torch.tensor([0]), torch.tensor([3])).item() == 2


def test_computed_once():
    transform = AddKHopRegion(k=3, edge_type='rates', attr='region')
    data = _hetero()
    first = transform(data)['user', 'rates', 'item'].region
    # A fresh object with the same edge_index reuses the regions...
    again = transform(data)['user', 'rates', 'item'].region
    assert again is first
    # ... a graph that carries them keeps them ...
    other = _hetero()
    other['user', 'rates', 'item'].region = 'kept'
    assert transform(other)['user', 'rates', 'item'].region == 'kept'
    # ... and another graph gets its own.
    new = transform(_hetero())['user', 'rates', 'item'].region
    assert new is not first
    assert new.sizes().tolist() == first.sizes().tolist()


def test_homogeneous_data():
    data = Data(edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]), num_nodes=5)
    data = AddKHopRegion(k=2, method='walk', num_walks=8, seed=0)(data)
    region = data.khop_region
    assert not region.bipartite
    assert region.contains(torch.tensor([0]), torch.tensor([2])).item()
    # 0 -> 2 and 1 -> 3 in two hops; node 3 is a dead end.
    assert region.sizes().tolist() == [1, 1, 0, 0, 0]


def test_functional_name_and_repr():
    from torch.utils.data import IterDataPipe

    assert 'negsamp_add_khop_region' in IterDataPipe.functions
    transform = AddKHopRegion(k=5, adjacent_hops=3, edge_type=('u', 'i'))
    assert repr(transform) == (
        "AddKHopRegion(k=5, adjacent_hops=3, edge_type=('u', 'i'), "
        "attr='khop_region', method='exact')"
    )


def test_errors():
    with pytest.raises(ValueError, match="'adjacent_hops' must be smaller"):
        AddKHopRegion(k=1)
    with pytest.raises(ValueError, match="'attr' must be a non-empty"):
        AddKHopRegion(attr='')
    with pytest.raises(ValueError, match="'method' must be one of"):
        AddKHopRegion(method='bfs')
    with pytest.raises(ValueError, match="'memory_budget' must be a pos"):
        AddKHopRegion(memory_budget=0)
    with pytest.raises(ValueError, match="'block_size' must be a pos"):
        AddKHopRegion(block_size=0)
    with pytest.raises(ValueError, match="'num_walks' must be a pos"):
        AddKHopRegion(num_walks=0)
    with pytest.raises(ValueError, match="'storage' must be one of"):
        AddKHopRegion(storage='x')
    with pytest.raises(TypeError, match="'seed' must be an int"):
        AddKHopRegion(seed=1.5)
    with pytest.raises(ValueError, match="'edge_type' must be given"):
        AddKHopRegion()(_hetero())
    with pytest.raises(ValueError, match="'edge_type' .* names no single"):
        AddKHopRegion(edge_type=('user', 'user'))(_hetero())
    with pytest.raises(TypeError, match="'data' must be Data or HeteroData"):
        AddKHopRegion().forward({'edge_index': None})
    # The parity rule applies once the graph is known to be bipartite.
    with pytest.raises(ValueError, match="'k' must be odd"):
        AddKHopRegion(k=4, edge_type='rates')(_hetero())
