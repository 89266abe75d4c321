import warnings

import pytest
import torch
import torch_geometric.typing
from torch_geometric.sampler import NegativeSampling

from torch_geometric_negsamp import UniformSampler
from torch_geometric_negsamp.loader import LinkNeighborLoader
from torch_geometric_negsamp.sampler import (
    SeedAwareNeighborSampler,
    SeedAwareTorchNeighborSampler,
    TorchNeighborSampler,
)

RATES = ('user', 'rates', 'item')


@pytest.mark.parametrize('disjoint', [False, True])
def test_backend_is_chosen_per_request(make_graph, installed, disjoint):
    data = make_graph('homo')
    installed(False, False)
    loader = LinkNeighborLoader(
        data, [1], disjoint=disjoint, neg_sampling=UniformSampler()
    )
    assert type(loader.link_sampler) is SeedAwareTorchNeighborSampler
    # torch-sparse alone refuses 'disjoint': that request stays ours.
    installed(False, True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # PyG: "without 'pyg-lib' ..."
        loader = LinkNeighborLoader(
            data, [1], disjoint=disjoint, neg_sampling=UniformSampler()
        )
    expected = (
        SeedAwareTorchNeighborSampler if disjoint else SeedAwareNeighborSampler
    )
    assert type(loader.link_sampler) is expected
    assert loader.link_sampler.disjoint is disjoint


def test_unserved_request_raises_before_fitting(make_graph, installed):
    installed(False, True)
    data = make_graph('homo')
    data.time = torch.arange(8)
    sampler = UniformSampler()
    with pytest.raises(NotImplementedError, match="needs 'pyg-lib'"):
        LinkNeighborLoader(
            data,
            [1],
            neg_sampling=sampler,
            time_attr='time',
            edge_label_time=torch.zeros(data.num_edges, dtype=torch.long),
        )
    assert not sampler.is_fitted


@pytest.mark.skipif(
    not torch_geometric.typing.WITH_TORCH_SPARSE
    or torch_geometric.typing.WITH_PYG_LIB,
    reason='needs torch-sparse without pyg-lib',
)
@pytest.mark.parametrize('disjoint', [False, True])
def test_torch_sparse_installation_serves_both(make_graph, disjoint):
    # The real compiled path: torch-sparse samples the plain requests, the
    # pure-PyTorch backend the disjoint ones; both give exact subgraphs.
    data = make_graph('homo')
    loader = LinkNeighborLoader(
        data,
        [2, 2],
        batch_size=4,
        disjoint=disjoint,
        neg_sampling=UniformSampler('triplet', 2),
    )
    assert isinstance(loader.link_sampler, SeedAwareTorchNeighborSampler) == (
        disjoint
    )
    edges = set(map(tuple, data.edge_index.t().tolist()))
    for batch in loader:
        sampled = batch.n_id[batch.edge_index].t().tolist()
        assert sampled and all(tuple(e) in edges for e in sampled)
        assert batch.dst_neg_index.shape == (batch.input_id.numel(), 2)


def test_repr(make_graph, installed):
    installed(False, False)
    loader = LinkNeighborLoader(
        make_graph('homo'), [1], neg_sampling=UniformSampler(seed=3)
    )
    assert repr(loader) == (
        "LinkNeighborLoader(neg_sampling=UniformSampler(mode='triplet', "
        'amount=1, filtered=True, seed=3), '
        'neighbor_sampler=SeedAwareTorchNeighborSampler)'
    )


T = torch.tensor
# Each row: graph kind, LinkNeighborLoader arguments, error, message.
BAD_ARGUMENTS = [
    ('homo', {'neg_sampling_ratio': 2.0}, ValueError, "'neg_sampling_ratio'"),
    ('homo', {'disjoint': 'no'}, TypeError, "'disjoint' must be a bool"),
    ('homo', {'replace': 1}, TypeError, "'replace' must be a bool"),
    ('homo', {'is_sorted': None}, TypeError, "'is_sorted' must be a bool"),
    ('homo', {'directed': 'yes'}, TypeError, "'directed' must be a bool"),
    ('homo', {'filter_per_worker': 0}, TypeError, "'filter_per_worker'"),
    # edge_label_index (issue: once reported as 'extra_positives[0][1]'):
    (
        'homo',
        {'edge_label_index': T([[0], [8]])},
        ValueError,
        r"^'edge_label_index\[1\]' holds node index 8, out of range for 8 "
        r'nodes$',
    ),
    (
        'homo',
        {'edge_label_index': T([[-1], [2]])},
        ValueError,
        r"^'edge_label_index\[0\]' holds node index -1",
    ),
    (
        'homo',
        {'edge_label_index': T([[0.0], [1.0]])},
        TypeError,
        "'edge_label_index' must hold integer ids",
    ),
    (
        'homo',
        {'edge_label_index': T([0, 1])},
        ValueError,
        "'edge_label_index' must have 2 dimension",
    ),
    ('hetero', {}, ValueError, "'edge_label_index' must name the edge type"),
    (
        'hetero',
        {'edge_label_index': 3},
        TypeError,
        "'edge_label_index' must be an edge type",
    ),
    (
        'hetero',
        {'edge_label_index': ('user', 'x', 'item')},
        ValueError,
        "'edge_label_index' .* names no single edge type",
    ),
    (
        'hetero',
        {'edge_label_index': (('item', 'x'), None)},
        ValueError,
        r"'edge_label_index\[0\]' .* names no single edge type",
    ),
    (
        'hetero',
        {'edge_label_index': (('user', 'item'), T([[0], [5]]))},
        ValueError,
        r"^'edge_label_index\[1\]' holds node index 5, out of range for 5 "
        r'nodes$',
    ),
    # extra_positives:
    (
        'homo',
        {'extra_positives': [T([[0], [1]]), T([[9], [1]])]},
        ValueError,
        r"^'extra_positives\[1\]\[0\]' holds node index 9",
    ),
    (
        'homo',
        {'extra_positives': {RATES: T([[0], [1]])}},
        TypeError,
        'homogeneous graph',
    ),
    ('homo', {'extra_positives': 3}, TypeError, 'a tensor or a list'),
    (
        'hetero',
        {'edge_label_index': RATES, 'extra_positives': T([[0], [0]])},
        TypeError,
        'dict keyed by edge type',
    ),
    (
        'hetero',
        {
            'edge_label_index': RATES,
            'extra_positives': {('user', 'x', 'item'): T([[0], [0]])},
        },
        ValueError,
        'names no single edge type',
    ),
    (
        'hetero',
        {
            'edge_label_index': RATES,
            'extra_positives': {('item', 'user'): T([[0], [0]])},
        },
        ValueError,
        r"holds edge type\(s\) \[\('item', 'rated_by', 'user'\)\]",
    ),
    (
        'hetero',
        {
            'edge_label_index': RATES,
            'extra_positives': {5: T([[0], [0]])},
        },
        TypeError,
        'must name an edge type',
    ),
    (
        'hetero',
        {
            'edge_label_index': RATES,
            'extra_positives': {('user', 'item'): T([[0], [7]])},
        },
        ValueError,
        r"\)\]\[1\]' holds node index 7, out of range for 5",
    ),
]


@pytest.mark.parametrize('kind,kwargs,error,match', BAD_ARGUMENTS)
def test_bad_arguments_raise_before_fitting(
    make_graph, kind, kwargs, error, match
):
    sampler = UniformSampler()
    with pytest.raises(error, match=match):
        LinkNeighborLoader(
            make_graph(kind), [1], neg_sampling=sampler, **kwargs
        )
    assert not sampler.is_fitted


def test_invalid_combinations_raise(make_graph):
    data = make_graph('homo')
    hetero = make_graph('hetero')
    with pytest.raises(ValueError, match="'extra_positives' needs a"):
        LinkNeighborLoader(
            data,
            [1],
            neg_sampling=NegativeSampling('binary'),
            extra_positives=data.edge_index,
        )
    with pytest.raises(TypeError, match="'neighbor_sampler' must mix in"):
        LinkNeighborLoader(
            data,
            [1],
            neg_sampling=UniformSampler(),
            neighbor_sampler=TorchNeighborSampler(data, [1]),
        )
    fitted = UniformSampler().fit(data)
    with pytest.raises(ValueError, match='already fitted'):
        LinkNeighborLoader(
            data, [1], neg_sampling=fitted, extra_positives=data.edge_index
        )
    with pytest.raises(ValueError, match='was not fitted'):
        LinkNeighborLoader(
            hetero,
            [1],
            edge_label_index=RATES,
            neg_sampling=UniformSampler().fit(
                hetero, edge_type=('item', 'rated_by', 'user')
            ),
        )
    # A sampler fitted on another graph:
    other = UniformSampler().fit(torch.tensor([[0], [1]]), 3)
    loader = LinkNeighborLoader(data, [1], neg_sampling=other)
    with pytest.raises(ValueError, match='fit it on the same graph'):
        next(iter(loader))


def test_label_edge_type_shorthand_is_resolved(make_graph):
    data = make_graph('hetero')
    for edge_label_index in (('user', 'item'), (('user', 'item'), None)):
        sampler = UniformSampler('triplet')
        loader = LinkNeighborLoader(
            data,
            [1],
            batch_size=20,
            edge_label_index=edge_label_index,
            neg_sampling=sampler,
        )
        assert list(sampler._indices) == [RATES]
        batch = next(iter(loader))
        src = batch['user'].n_id[batch['user'].src_index]
        dst = batch['item'].n_id[batch['item'].dst_pos_index]
        assert torch.equal(torch.stack([src, dst]), data[RATES].edge_index)


def test_store_data_needs_a_fitted_sampler():
    fit = LinkNeighborLoader._prepare_fit
    with pytest.raises(ValueError, match='must be fitted before'):
        fit((object(), object()), None, UniformSampler(), None)
    fitted = UniformSampler().fit(torch.tensor([[0], [1]]), 2)
    with pytest.raises(ValueError, match="needs 'data' to be"):
        fit((object(), object()), None, fitted, torch.tensor([[0], [1]]))
    assert fit((object(), object()), None, fitted, None) is None


def test_pyg_validation_comes_before_fitting(make_graph):
    sampler = UniformSampler('triplet')
    with pytest.raises(ValueError, match="'edge_label' needs to be"):
        LinkNeighborLoader(
            make_graph('homo'),
            [1],
            neg_sampling=sampler,
            edge_label=torch.ones(18),
        )
    assert not sampler.is_fitted
