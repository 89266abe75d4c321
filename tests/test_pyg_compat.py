r"""PyG's own tests of its negative sampling functions (PyG 2.8.1,
``test/utils/test_negative_sampling.py``), run against both
:mod:`torch_geometric.utils` and :mod:`torch_geometric_negsamp.utils`
through one fixture, so that both pass the same assertions.

PyG's ``test_edge_index_to_vector_and_vice_versa`` is left out: it tests
PyG's private vector layout helpers, which the drop-ins do not have. The
tests after the ported ones tighten PyG's assertions to what the drop-ins
promise (exact counts, no hang); where PyG's implementation cannot meet them
only its parameter is marked as an expected failure, with the reason.
"""

import random
from types import SimpleNamespace

import pytest
import torch
import torch_geometric.utils as pyg_utils
from torch_geometric.utils import (
    contains_self_loops,
    is_undirected,
    to_undirected,
)

import torch_geometric_negsamp.utils as ours

NAMES = (
    'negative_sampling',
    'batched_negative_sampling',
    'structured_negative_sampling',
    'structured_negative_sampling_feasible',
)


def _impl(module):
    return SimpleNamespace(**{name: getattr(module, name) for name in NAMES})


PYG, OURS = 'pyg', 'ours'


@pytest.fixture(params=[PYG, OURS])
def impl(request):
    # PyG draws from Python's and torch's global generators: seed both so
    # that every run checks the same draws.
    random.seed(12345)
    torch.manual_seed(12345)
    return _impl(pyg_utils if request.param == PYG else ours)


def is_negative(edge_index, neg_edge_index, size, bipartite):
    adj = torch.zeros(size, dtype=torch.bool)
    neg_adj = torch.zeros(size, dtype=torch.bool)

    adj[edge_index[0], edge_index[1]] = True
    neg_adj[neg_edge_index[0], neg_edge_index[1]] = True

    if not bipartite:
        arange = torch.arange(size[0])
        assert neg_adj[arange, arange].sum() == 0

    return (adj & neg_adj).sum() == 0


# --------------------------------------------- ported from PyG 2.8.1 tests
def test_negative_sampling(impl):
    edge_index = torch.as_tensor([[0, 0, 1, 2], [0, 1, 2, 3]])

    neg_edge_index = impl.negative_sampling(edge_index)
    assert neg_edge_index.size(1) == edge_index.size(1)
    assert is_negative(edge_index, neg_edge_index, (4, 4), bipartite=False)

    neg_edge_index = impl.negative_sampling(edge_index, method='dense')
    assert neg_edge_index.size(1) == edge_index.size(1)
    assert is_negative(edge_index, neg_edge_index, (4, 4), bipartite=False)

    neg_edge_index = impl.negative_sampling(edge_index, num_neg_samples=2)
    assert neg_edge_index.size(1) == 2
    assert is_negative(edge_index, neg_edge_index, (4, 4), bipartite=False)

    edge_index = to_undirected(edge_index)
    neg_edge_index = impl.negative_sampling(edge_index, force_undirected=True)
    assert neg_edge_index.size(1) == edge_index.size(1) - 1
    assert is_undirected(neg_edge_index)
    assert is_negative(edge_index, neg_edge_index, (4, 4), bipartite=False)


def test_bipartite_negative_sampling(impl):
    edge_index = torch.as_tensor([[0, 0, 1, 2], [0, 1, 2, 3]])

    neg_edge_index = impl.negative_sampling(edge_index, num_nodes=(3, 4))
    assert neg_edge_index.size(1) == edge_index.size(1)
    assert is_negative(edge_index, neg_edge_index, (3, 4), bipartite=True)

    neg_edge_index = impl.negative_sampling(
        edge_index, num_nodes=(3, 4), num_neg_samples=2
    )
    assert neg_edge_index.size(1) == 2
    assert is_negative(edge_index, neg_edge_index, (3, 4), bipartite=True)


def test_batched_negative_sampling(impl):
    edge_index = torch.as_tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
    edge_index = torch.cat([edge_index, edge_index + 4], dim=1)
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])

    neg_edge_index = impl.batched_negative_sampling(edge_index, batch)
    assert neg_edge_index.size(1) <= edge_index.size(1)

    adj = torch.zeros(8, 8, dtype=torch.bool)
    adj[edge_index[0], edge_index[1]] = True
    neg_adj = torch.zeros(8, 8, dtype=torch.bool)
    neg_adj[neg_edge_index[0], neg_edge_index[1]] = True

    assert (adj & neg_adj).sum() == 0
    assert (adj | neg_adj).sum() == edge_index.size(1) + neg_edge_index.size(1)
    assert neg_adj[:4, 4:].sum() == 0
    assert neg_adj[4:, :4].sum() == 0


def test_bipartite_batched_negative_sampling(impl):
    edge_index1 = torch.as_tensor([[0, 0, 1, 1], [0, 1, 2, 3]])
    edge_index2 = edge_index1 + torch.tensor([[2], [4]])
    edge_index3 = edge_index2 + torch.tensor([[2], [4]])
    edge_index = torch.cat([edge_index1, edge_index2, edge_index3], dim=1)
    src_batch = torch.tensor([0, 0, 1, 1, 2, 2])
    dst_batch = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])

    neg_edge_index = impl.batched_negative_sampling(
        edge_index, (src_batch, dst_batch)
    )
    assert neg_edge_index.size(1) <= edge_index.size(1)

    adj = torch.zeros(6, 12, dtype=torch.bool)
    adj[edge_index[0], edge_index[1]] = True
    neg_adj = torch.zeros(6, 12, dtype=torch.bool)
    neg_adj[neg_edge_index[0], neg_edge_index[1]] = True

    assert (adj & neg_adj).sum() == 0
    assert (adj | neg_adj).sum() == edge_index.size(1) + neg_edge_index.size(1)


def test_structured_negative_sampling(impl):
    edge_index = torch.as_tensor([[0, 0, 1, 2], [0, 1, 2, 3]])

    i, j, k = impl.structured_negative_sampling(edge_index)
    assert i.size(0) == edge_index.size(1)
    assert j.size(0) == edge_index.size(1)
    assert k.size(0) == edge_index.size(1)

    adj = torch.zeros(4, 4, dtype=torch.bool)
    adj[i, j] = 1

    neg_adj = torch.zeros(4, 4, dtype=torch.bool)
    neg_adj[i, k] = 1
    assert (adj & neg_adj).sum() == 0

    # Test with no self-loops:
    edge_index = torch.LongTensor([[0, 0, 1, 1, 2], [1, 2, 0, 2, 1]])
    i, j, k = impl.structured_negative_sampling(
        edge_index, num_nodes=4, contains_neg_self_loops=False
    )
    neg_edge_index = torch.vstack([i, k])
    assert not contains_self_loops(neg_edge_index)


def test_structured_negative_sampling_feasible(impl):
    edge_index = torch.LongTensor(
        [[0, 0, 1, 1, 2, 2, 2], [1, 2, 0, 2, 0, 1, 1]]
    )
    assert not impl.structured_negative_sampling_feasible(edge_index, 3, False)
    assert impl.structured_negative_sampling_feasible(edge_index, 3, True)
    assert impl.structured_negative_sampling_feasible(edge_index, 4, False)


# -------------------------------------- the drop-ins' stronger promises
def _pyg_xfail(reason, run=True):
    return [
        pytest.param(
            PYG, marks=pytest.mark.xfail(reason=reason, run=run, strict=False)
        ),
        OURS,
    ]


@pytest.mark.parametrize(
    'which',
    _pyg_xfail(
        'PyG draws 1.1 / density candidates per try and stops after 3 tries, '
        'so on a dense graph it often returns fewer pairs than asked'
    ),
)
@pytest.mark.parametrize('method', ['sparse', 'dense'])
def test_exact_count_on_a_dense_graph(which, method):
    impl = _impl(pyg_utils if which == PYG else ours)
    # 30 nodes, every pair but the 60 pairs (u, u + 1 mod 30) and
    # (u, u + 2 mod 30) is an edge. Asked for one negative, PyG draws 15
    # candidates per try, all positives with probability ~0.34, so about
    # one call in 25 returns nothing; 200 calls make a shortfall certain.
    node = torch.arange(30)
    row, col = node.repeat_interleave(30), node.repeat(30)
    gap = (col - row) % 30
    keep = (gap != 1) & (gap != 2) & (row != col)
    edge_index = torch.stack([row[keep], col[keep]])
    random.seed(0)
    torch.manual_seed(0)
    counts = set()
    for _ in range(200):
        neg = impl.negative_sampling(
            edge_index, 30, num_neg_samples=1, method=method
        )
        assert is_negative(edge_index, neg, (30, 30), bipartite=False)
        counts.add(neg.size(1))
    assert counts == {1}


@pytest.mark.parametrize(
    'which',
    _pyg_xfail(
        "PyG's structured_negative_sampling loops forever when a node is "
        'connected to every node, so it is not run',
        run=False,
    ),
)
def test_structured_infeasible_raises(which):
    impl = _impl(pyg_utils if which == PYG else ours)
    # Node 2 is connected to both other nodes (0 and 1 are not):
    edge_index = torch.LongTensor([[0, 2, 2], [1, 0, 1]])
    with pytest.raises(ValueError, match='node 2 is connected to all 3'):
        impl.structured_negative_sampling(
            edge_index, 3, contains_neg_self_loops=False
        )


@pytest.mark.parametrize('which', [PYG, OURS])
def test_batched_exact_negatives_per_graph(which):
    impl = _impl(pyg_utils if which == PYG else ours)
    random.seed(1)
    torch.manual_seed(1)
    # Two graphs of 5 nodes, 3 edges each: every graph gets one negative
    # per edge, inside itself, none a positive or a loop.
    edge_index = torch.tensor([[0, 1, 2, 5, 6, 7], [1, 2, 3, 6, 7, 8]])
    batch = torch.tensor([0] * 5 + [1] * 5)
    neg = impl.batched_negative_sampling(edge_index, batch)
    assert neg.size(1) == 6
    assert bool((batch[neg[0]] == batch[neg[1]]).all())
    assert int((batch[neg[0]] == 0).sum()) == 3
    assert is_negative(edge_index, neg, (10, 10), bipartite=False)
