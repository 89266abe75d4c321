import pytest
import torch
from torch_geometric.data import Data, HeteroData
from torch_geometric.transforms import RandomLinkSplit

from torch_geometric_negsamp import PopularitySampler, UniformSampler
from torch_geometric_negsamp.transforms import AddNegativeSamples


def _data(num_nodes=12, num_edges=50, seed=0):
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(num_nodes, (2, num_edges), generator=gen)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    return Data(edge_index=edge_index, num_nodes=num_nodes)


def _pairs(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


def test_binary_after_random_link_split_never_hits_held_out_edges():
    data = _data(num_nodes=10, num_edges=60)
    train, val, test = RandomLinkSplit(
        num_val=0.2, num_test=0.2, add_negative_train_samples=False
    )(data)
    held_out = torch.cat(
        [
            val.edge_label_index[:, val.edge_label == 1],
            test.edge_label_index[:, test.edge_label == 1],
        ],
        1,
    )
    transform = AddNegativeSamples(
        UniformSampler('binary', 2, seed=0), extra_positives=held_out
    )
    forbidden = _pairs(data.edge_index)
    draws = []
    for _ in range(20):
        out = transform(train)
        num_pos = train.edge_label_index.size(1)
        assert out.edge_label_index.size(1) == 3 * num_pos
        assert torch.equal(
            out.edge_label_index[:, :num_pos], train.edge_label_index
        )
        assert out.edge_label.tolist() == [1.0] * num_pos + [0.0] * (
            2 * num_pos
        )
        neg = _pairs(out.edge_label_index[:, num_pos:])
        assert not neg & forbidden
        assert all(u != v for u, v in neg)
        draws.append(out.edge_label_index[:, num_pos:])
    # The input is untouched and negatives are fresh on every call:
    assert train.edge_label.numel() == train.edge_label_index.size(1)
    assert not torch.equal(draws[0], draws[1])


def test_integer_labels_are_shifted_and_split_labels():
    data = _data()
    data.edge_label_index = data.edge_index[:, :5]
    data.edge_label = torch.tensor([0, 1, 2, 0, 1])
    out = AddNegativeSamples(UniformSampler('binary', seed=0))(data)
    assert out.edge_label.tolist() == [1, 2, 3, 1, 2, 0, 0, 0, 0, 0]
    out = AddNegativeSamples(
        UniformSampler('binary', seed=0), split_labels=True
    )(data)
    assert 'edge_label_index' not in out and 'edge_label' not in out
    assert torch.equal(out.pos_edge_label_index, data.edge_label_index)
    assert out.pos_edge_label.tolist() == [1, 2, 3, 1, 2]
    assert out.neg_edge_label_index.shape == (2, 5)
    assert out.neg_edge_label.tolist() == [0] * 5


@pytest.mark.parametrize('amount', [1, 3])
def test_triplet_rows_belong_to_positives(amount):
    data = _data()
    sampler = PopularitySampler('triplet', amount, seed=0)
    out = AddNegativeSamples(sampler)(data)
    assert torch.equal(out.src_index, data.edge_index[0])
    assert torch.equal(out.dst_pos_index, data.edge_index[1])
    neg = out.dst_neg_index
    assert neg.shape == (
        (data.num_edges,) if amount == 1 else (data.num_edges, amount)
    )
    pos = _pairs(data.edge_index)
    for u, row in zip(
        out.src_index.tolist(), neg.view(data.num_edges, -1).tolist()
    ):
        assert all((u, v) not in pos and u != v for v in row)


def test_hetero_binary_and_triplet():
    data = HeteroData()
    data['user'].num_nodes = 4
    data['item'].num_nodes = 6
    et = ('user', 'rates', 'item')
    data[et].edge_index = torch.tensor([[0, 0, 1, 2, 3], [0, 1, 2, 3, 5]])
    data['item', 'rev_rates', 'user'].edge_index = data[et].edge_index.flip(0)
    out = AddNegativeSamples('uniform', 'binary', 2, edge_type=et)(data)
    assert out[et].edge_label_index.shape == (2, 15)
    neg = out[et].edge_label_index[:, 5:]
    assert not _pairs(neg) & _pairs(data[et].edge_index)
    assert neg[0].max() < 4 and neg[1].max() < 6
    out = AddNegativeSamples(
        UniformSampler('triplet', 2, seed=0), edge_type=('user', 'item')
    )(data)
    assert out[et].dst_neg_index.shape == (5, 2)


def test_drop_mode_removes_unsatisfiable_positives():
    # Node 0 is linked to every other node.
    edge_index = torch.tensor([[0, 0, 0, 1], [1, 2, 3, 2]])
    data = Data(edge_index=edge_index, num_nodes=4)
    sampler = UniformSampler(seed=0, on_unsatisfiable='drop')
    with pytest.warns(UserWarning, match='dropped 3'):
        out = AddNegativeSamples(sampler)(data)
    assert out.src_index.tolist() == [1]
    assert out.dst_neg_index.tolist() in ([0], [3])


def test_functional_name_and_repr():
    from torch.utils.data import IterDataPipe

    assert 'negsamp_add_negative_samples' in IterDataPipe.functions
    transform = AddNegativeSamples(UniformSampler('binary', seed=1))
    assert repr(transform) == (
        "AddNegativeSamples(UniformSampler(mode='binary', amount=1, "
        "filtered=True, seed=1), edge_type=None, key='edge_label', "
        'split_labels=False)'
    )


def test_init_errors():
    with pytest.raises(TypeError, match="'sampler' must be a NegativeSampler"):
        AddNegativeSamples(3)
    with pytest.raises(ValueError, match="'key' must be a non-empty"):
        AddNegativeSamples('uniform', key='')
    with pytest.raises(ValueError, match="'split_labels=True' applies to"):
        AddNegativeSamples(UniformSampler('triplet'), split_labels=True)
    with pytest.raises(TypeError, match="'split_labels' must be a bool"):
        AddNegativeSamples('uniform', split_labels='no')
    with pytest.raises(TypeError, match="'extra_positives' must be a tensor"):
        AddNegativeSamples('uniform', extra_positives=3)


def _hetero():
    data = HeteroData()
    data['user'].num_nodes = 3
    data['item'].num_nodes = 4
    data['user', 'rates', 'item'].edge_index = torch.tensor([[0, 1], [1, 3]])
    data['item', 'rev', 'user'].edge_index = torch.tensor([[1, 3], [0, 1]])
    return data


def _homo(**attrs):
    data = Data(edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]), num_nodes=4)
    for name, value in attrs.items():
        data[name] = value
    return data


T = torch.tensor
# Each row: data, transform arguments, error, message.
FORWARD_ERRORS = [
    (_hetero, {}, ValueError, "'edge_type' must be given"),
    (
        _hetero,
        {'edge_type': ('user', 'x', 'item')},
        ValueError,
        "'edge_type' .* names no single edge type",
    ),
    (_hetero, {'edge_type': 5}, TypeError, "'edge_type' must name"),
    (
        lambda: _homo(edge_label_index=T([[0], [4]])),
        {},
        ValueError,
        r"^'edge_label_index\[1\]' holds node index 4, out of range for 4 "
        r'nodes$',
    ),
    (
        lambda: Data(edge_index=T([[0.0], [1.0]]), num_nodes=2),
        {},
        TypeError,
        "'edge_index' must hold integer ids",
    ),
    (
        lambda: _homo(edge_label_index=T([[0, 1], [1, 2]]), edge_label=T([1])),
        {},
        ValueError,
        r"'edge_label' must hold one label per column of 'edge_label_index' "
        r'\(2\) \(got \[1\]\)',
    ),
    (
        _homo,
        {'extra_positives': T([[-1], [0]])},
        ValueError,
        r"^'extra_positives\[0\]' holds node index -1",
    ),
    (
        _homo,
        {'extra_positives': {('a', 'to', 'a'): T([[0], [1]])}},
        TypeError,
        'homogeneous graph',
    ),
    (
        _hetero,
        {
            'edge_type': ('user', 'item'),
            'extra_positives': {('item', 'user'): T([[0], [1]])},
        },
        ValueError,
        'but only .* is sampled',
    ),
    (
        _hetero,
        {
            'edge_type': ('user', 'item'),
            'extra_positives': {('user', 'item'): T([[0], [4]])},
        },
        ValueError,
        r"^'extra_positives\[\('user', 'rates', 'item'\)\]\[1\]' holds "
        r'node index 4',
    ),
    # Binary mode with no positive: once blamed on 'num_samples'.
    (
        lambda: Data(edge_index=T([[], []], dtype=torch.long), num_nodes=3),
        {},
        ValueError,
        "^'edge_index' holds no positive edge",
    ),
    (
        lambda: _homo(edge_label_index=T([[0], [2]]), edge_label=T([0.0])),
        {},
        ValueError,
        "^'edge_label_index' holds no positive edge .* labelled 0",
    ),
]


@pytest.mark.parametrize('make,kwargs,error,match', FORWARD_ERRORS)
def test_forward_errors(make, kwargs, error, match):
    data = make()
    before = [set(store.keys()) for store in data.stores]
    sampler = UniformSampler('binary', seed=0)
    transform = AddNegativeSamples(sampler, **kwargs)
    with pytest.raises(error, match=match):
        transform(data)
    # Nothing was fitted or written before the error:
    assert not sampler.is_fitted
    assert [set(store.keys()) for store in data.stores] == before


def test_not_data_raises():
    with pytest.raises(TypeError, match="'data' must be Data or HeteroData"):
        AddNegativeSamples('uniform').forward(3)


def test_triplet_without_positives_is_empty():
    data = Data(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=3)
    out = AddNegativeSamples(UniformSampler('triplet', 2))(data)
    assert out.src_index.shape == (0,) and out.dst_neg_index.shape == (0, 2)


def test_hetero_extra_positives_by_shorthand_are_never_drawn():
    # User 0 rates item 1; items 0, 2 are held out by the (src, dst)
    # shorthand key, so item 3 is user 0's only valid negative.
    data = _hetero()
    held_out = T([[0, 0], [0, 2]])
    transform = AddNegativeSamples(
        UniformSampler('triplet', 5, seed=0),
        edge_type=('user', 'item'),
        extra_positives={('user', 'item'): held_out},
    )
    out = transform(data)
    store = out['user', 'rates', 'item']
    assert store.dst_neg_index[0].tolist() == [3] * 5


def test_labelled_negatives_are_not_taken_as_positives():
    data = _data()
    # RandomLinkSplit's default output holds negatives labelled 0:
    train, _, _ = RandomLinkSplit(num_val=0.1, num_test=0.1)(data)
    num_pos = int((train.edge_label == 1).sum())
    transform = AddNegativeSamples(UniformSampler('binary', seed=0))
    out = transform(train)
    assert out.edge_label_index.size(1) == 2 * num_pos
    assert out.edge_label.tolist() == [1.0] * num_pos + [0.0] * num_pos
    # Applying it again to its own output does not grow the batch:
    again = transform(out)
    assert again.edge_label_index.size(1) == 2 * num_pos
    triplet = AddNegativeSamples(UniformSampler('triplet', seed=0))(train)
    assert triplet.src_index.numel() == num_pos
