import math

import pytest
import torch

from torch_geometric_negsamp.nn import normalized_adjacency

# 3 users, 2 items: u0-i0, u0-i1, u1-i1, u2-i0 (items are nodes 3 and 4).
TRAIN_INDEX = torch.tensor([[0, 0, 1, 2], [0, 1, 1, 0]])


def test_normalized_adjacency_matches_hand_computation():
    adj = normalized_adjacency(TRAIN_INDEX, 3, 2)
    assert adj.layout == torch.sparse_csr
    assert adj.shape == (5, 5)
    # Degrees: u0 2, u1 1, u2 1, i0 2, i1 2; entry 1 / sqrt(deg_u * deg_i).
    expected = torch.zeros(5, 5)
    for u, i in [(0, 3), (0, 4), (1, 4), (2, 3)]:
        deg_u = {0: 2, 1: 1, 2: 1}[u]
        expected[u, i] = expected[i, u] = 1 / math.sqrt(deg_u * 2)
    assert torch.allclose(adj.to_dense(), expected)
    assert adj.to_dense()[0, 3] == pytest.approx(0.5)
    assert adj.to_dense()[1, 4] == pytest.approx(1 / math.sqrt(2))


def test_normalized_adjacency_counts_duplicates_once():
    repeated = torch.cat([TRAIN_INDEX, TRAIN_INDEX[:, :2]], dim=1)
    adj = normalized_adjacency(repeated, 3, 2)
    assert adj._nnz() == 8
    assert torch.equal(
        adj.to_dense(), normalized_adjacency(TRAIN_INDEX, 3, 2).to_dense()
    )


def test_normalized_adjacency_isolated_nodes_are_zero_not_nan():
    # User 3 and item 2 have no interactions.
    adj = normalized_adjacency(TRAIN_INDEX, 4, 3).to_dense()
    assert not torch.isnan(adj).any()
    assert adj[3].abs().sum() == 0 and adj[:, 3].abs().sum() == 0
    assert adj[6].abs().sum() == 0
    assert torch.equal(adj, adj.t())


def test_normalized_adjacency_empty_graph_and_dtype():
    adj = normalized_adjacency(
        torch.empty(2, 0, dtype=torch.long), 2, 2, dtype=torch.float64
    )
    assert adj._nnz() == 0 and adj.dtype == torch.float64
    assert adj.to_dense().abs().sum() == 0


@pytest.mark.parametrize(
    'train_index, num_users, num_items, error, match',
    [
        ([[0], [0]], 3, 2, TypeError, "'train_index' must be a torch.Tensor"),
        (torch.tensor([[0.0], [0.0]]), 3, 2, TypeError, 'integer ids'),
        (torch.tensor([0, 1]), 3, 2, ValueError, r'shape \[2, E\]'),
        (
            torch.zeros(3, 2, dtype=torch.long),
            3,
            2,
            ValueError,
            r'shape \[2, E\]',
        ),
        (torch.tensor([[3], [0]]), 3, 2, ValueError, 'user ids'),
        (torch.tensor([[0], [-1]]), 3, 2, ValueError, 'item ids'),
        (torch.tensor([[0], [2]]), 3, 2, ValueError, 'item ids'),
        (TRAIN_INDEX, 0, 2, ValueError, "'num_users' must be a positive"),
        (TRAIN_INDEX, 3, 2.0, TypeError, "'num_items' must be an int"),
        (TRAIN_INDEX, True, 2, TypeError, "'num_users' must be an int"),
    ],
)
def test_normalized_adjacency_validation(
    train_index, num_users, num_items, error, match
):
    with pytest.raises(error, match=match):
        normalized_adjacency(train_index, num_users, num_items)


def test_normalized_adjacency_bad_dtype():
    with pytest.raises(TypeError, match="'dtype' must be a floating"):
        normalized_adjacency(TRAIN_INDEX, 3, 2, dtype=torch.long)
