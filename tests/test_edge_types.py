import pytest
import torch
from torch_geometric.data import Data, HeteroData

from torch_geometric_negsamp._edge_types import (
    canonical_edge_type,
    check_edge_index,
    check_edge_list,
    edge_store,
    is_edge_type,
    resolve_edge_types,
    resolve_keyed,
    typed_positives,
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


def test_check_edge_index_and_list():
    edges = torch.tensor([[0, 1], [2, 0]], dtype=torch.int32)
    out = check_edge_index(edges, 'e', 2, 3)
    assert out.dtype == torch.long and torch.equal(out, edges.long())
    with pytest.raises(ValueError, match=r"^'e\[1\]' holds node index 3"):
        check_edge_index(torch.tensor([[0], [3]]), 'e', 2, 3)
    with pytest.raises(ValueError, match=r"'e' must have shape \[2, \*\]"):
        check_edge_index(torch.tensor([[0], [1], [1]]), 'e', 2, 3)
    listed = check_edge_list([edges, edges[:, :1]], 'e', 2, 3)
    assert [t.size(1) for t in listed] == [2, 1]
    with pytest.raises(ValueError, match=r"^'e\[1\]\[0\]' holds node"):
        check_edge_list([edges, torch.tensor([[5], [0]])], 'e', 2, 3)
    with pytest.raises(TypeError, match="'e' must be a tensor or a list"):
        check_edge_list(3, 'e', 2, 3)


def test_typed_positives(data):
    rates = ('user', 'rates', 'item')
    held = torch.tensor([[1], [1]])
    assert typed_positives(None, 'x', data, rates) == []
    for value in (held, [held], {rates: held}, {'rates': [held]}):
        out = typed_positives(value, 'x', data, rates)
        assert len(out) == 1 and torch.equal(out[0], held)
    with pytest.raises(ValueError, match=r"holds edge type\(s\) \[\('user'"):
        typed_positives({'views': held}, 'x', data, rates)
    with pytest.raises(ValueError, match='names no single edge type'):
        typed_positives({('user', 'item'): held}, 'x', data, rates)
    homo = Data(edge_index=torch.tensor([[0], [1]]), num_nodes=2)
    out = typed_positives(held, 'x', homo, None)
    assert torch.equal(out[0], held)
    with pytest.raises(TypeError, match='homogeneous graph'):
        typed_positives({rates: held}, 'x', homo, None)


def test_edge_store_of_data_and_hetero_data():
    data = Data(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    assert edge_store(data) == (None, data, 3, 3)
    hetero = HeteroData()
    hetero['user'].num_nodes = 2
    hetero['item'].num_nodes = 5
    hetero['user', 'rates', 'item'].edge_index = torch.tensor([[0], [4]])
    edge_type, store, num_src, num_dst = edge_store(hetero, ('user', 'item'))
    assert edge_type == ('user', 'rates', 'item')
    assert store is hetero[edge_type]
    assert (num_src, num_dst) == (2, 5)
    with pytest.raises(ValueError, match="'edge_type' must be given for"):
        edge_store(hetero)
    with pytest.raises(TypeError, match="'data' must be Data or HeteroData"):
        edge_store({'edge_index': data.edge_index})
