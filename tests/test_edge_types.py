import pytest
import torch
from torch_geometric.data import HeteroData

from torch_geometric_negsamp._edge_types import (
    canonical_edge_type,
    is_edge_type,
    resolve_edge_types,
    resolve_keyed,
)


@pytest.fixture
def data():
    data = HeteroData()
    data['user'].num_nodes = 2
    data['item'].num_nodes = 2
    data['user', 'rates', 'item'].edge_index = torch.tensor([[0], [1]])
    data['user', 'views', 'item'].edge_index = torch.tensor([[1], [0]])
    data['item', 'rev', 'user'].edge_index = torch.tensor([[0], [1]])
    return data


def test_keys_resolve_exactly_as_pyg(data):
    for key in [
        ('user', 'rates', 'item'),
        ('item', 'user'),
        'rev',
        'views',
    ]:
        assert canonical_edge_type(data, key) == data._to_canonical(key)
    assert is_edge_type(('a', 'b', 'c')) and not is_edge_type(('a', 'b'))


def test_ambiguous_or_unknown_keys_are_errors(data):
    with pytest.raises(ValueError, match="'et' \\('user', 'item'\\) names"):
        canonical_edge_type(data, ('user', 'item'), 'et')  # two relations
    with pytest.raises(ValueError, match='names no single edge type'):
        canonical_edge_type(data, ('user', 'x', 'item'))
    with pytest.raises(TypeError, match="'edge_type' must name an edge"):
        canonical_edge_type(data, 3)


def test_edge_type_lists_and_keyed_dicts(data):
    assert resolve_edge_types(data) == data.edge_types
    assert resolve_edge_types(data, 'rev') == [('item', 'rev', 'user')]
    assert resolve_edge_types(data, ['rev', 'rates']) == [
        ('item', 'rev', 'user'),
        ('user', 'rates', 'item'),
    ]
    out = resolve_keyed(data, {('item', 'user'): 1}, 'extra')
    assert out == {('item', 'rev', 'user'): 1}
    assert resolve_keyed(data, None, 'extra') == {}
    with pytest.raises(TypeError, match="'extra' must be a dict keyed"):
        resolve_keyed(data, [1], 'extra')
    with pytest.raises(ValueError, match=r"'extra\[\('a', 'b'\)\]'"):
        resolve_keyed(data, {('a', 'b'): 1}, 'extra')
    with pytest.raises(ValueError, match="'extra' names edge type .* twice"):
        resolve_keyed(data, {'rev': 1, ('item', 'user'): 2}, 'extra')
