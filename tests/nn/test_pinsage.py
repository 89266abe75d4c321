import pytest
import torch
import torch.nn.functional as F

from torch_geometric_negsamp.nn import PinSage

# 4 users, 4 items; user 3 and item 3 have no interactions.
TRAIN_INDEX = torch.tensor([[0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 2, 0, 1, 2]])


def _neighbors(seed, **kwargs):
    args = dict(num_walks=10, walk_length=3, top_k=3)
    args.update(kwargs)
    return PinSage.importance_neighbors(
        TRAIN_INDEX,
        4,
        4,
        generator=torch.Generator().manual_seed(seed),
        **args,
    )


def _dense_graph():
    A = torch.zeros(8, 8)
    A[TRAIN_INDEX[0], TRAIN_INDEX[1] + 4] = 1
    return A + A.t()


def test_importance_neighbors_are_seeded():
    first, second = _neighbors(0), _neighbors(0)
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])


def test_importance_neighbors_within_walk_reach():
    A = _dense_graph()
    one_hop = A > 0
    three_hop = (A + A @ A + A @ A @ A) > 0
    for walk_length, reach in ((1, one_hop), (3, three_hop)):
        edge_index, weight = _neighbors(0, walk_length=walk_length, top_k=8)
        src, dst = edge_index
        assert reach[src, dst].all()
        assert (src != dst).all()
        # Every node with an edge has neighbours; weights sum to one.
        sums = torch.zeros(8).index_add_(0, src, weight)
        has_edge = A.sum(1) > 0
        assert torch.allclose(sums[has_edge], torch.ones(int(has_edge.sum())))
        assert sums[~has_edge].abs().sum() == 0
    # One step reaches exactly the graph neighbours (50 walks suffice here:
    # each node has at most 3 neighbours).
    edge_index, _ = _neighbors(0, walk_length=1, top_k=8, num_walks=50)
    got = torch.zeros(8, 8, dtype=torch.bool)
    got[edge_index[0], edge_index[1]] = True
    assert torch.equal(got, one_hop)


def test_importance_neighbors_top_k_keeps_most_visited():
    full_index, full_weight = _neighbors(3, top_k=8)
    top_index, top_weight = _neighbors(3, top_k=1)
    # Same walks; the single kept neighbour is the first of the full list.
    firsts = torch.ones(full_index.size(1), dtype=torch.bool)
    firsts[1:] = full_index[0, 1:] != full_index[0, :-1]
    assert torch.equal(top_index, full_index[:, firsts])
    assert torch.equal(top_weight, torch.ones(top_index.size(1)))
    # Within each node, weights never increase.
    same = full_index[0, 1:] == full_index[0, :-1]
    assert (full_weight[1:][same] <= full_weight[:-1][same]).all()


def test_importance_neighbors_mean_weights_are_uniform():
    edge_index, weight = _neighbors(0, aggr='mean', top_k=2)
    counts = torch.bincount(edge_index[0], minlength=8).float()
    assert torch.allclose(weight, 1 / counts[edge_index[0]])


def test_pinsage_layer_matches_dense_reimplementation():
    torch.manual_seed(0)
    model = PinSage(
        4,
        4,
        embedding_dim=3,
        num_layers=2,
        top_k=3,
        train_index=TRAIN_INDEX,
        generator=torch.Generator().manual_seed(0),
    )
    P = model.adj.to_dense()
    assert torch.allclose(model.adj_t.to_dense(), P.t())
    x = model.embedding.weight.detach().clone().requires_grad_()
    expected = [x]
    for lin in model.lins:
        x = F.normalize(torch.relu(lin(torch.cat([x, P @ x], 1))), dim=1)
        expected.append(x)
    layers = model.layer_embeddings()
    assert len(layers) == 3
    for got, want in zip(layers, expected):
        assert torch.allclose(got, want, atol=1e-6)
    # The isolated user 3 aggregates nothing.
    assert P[3].abs().sum() == 0
    # Gradients through the transposed importance matrix equal dense ones.
    upstream = torch.randn(8, 3)
    (layers[-1] * upstream).sum().backward()
    (expected[-1] * upstream).sum().backward()
    assert torch.allclose(
        model.embedding.weight.grad, expected[0].grad, atol=1e-6
    )


def test_pinsage_shapes_pool_and_override():
    model = PinSage(
        4,
        4,
        embedding_dim=3,
        train_index=TRAIN_INDEX,
        aggr='mean',
        generator=torch.Generator().manual_seed(0),
    )
    user_emb, item_emb = model()
    assert user_emb.shape == (4, 3) and item_emb.shape == (4, 3)
    assert torch.equal(
        torch.cat([user_emb, item_emb]), model.layer_embeddings()[-1]
    )
    assert torch.equal(user_emb, model(model.adj.clone())[0])
    assert model.score(user_emb, item_emb[:, None].expand(4, 2, 3)).shape == (
        4,
        2,
    )
    assert "aggr='mean'" in repr(model)


@pytest.mark.parametrize(
    'kwargs, error, match',
    [
        (dict(train_index=None), ValueError, "requires 'train_index'"),
        (dict(aggr='max'), ValueError, "'aggr' must be one of"),
        (dict(num_walks=0), ValueError, "'num_walks' must be a positive"),
        (dict(walk_length=0), ValueError, "'walk_length' must be a positive"),
        (dict(top_k=True), TypeError, "'top_k' must be an int"),
        (dict(generator='seed'), TypeError, "'generator' must be a"),
    ],
)
def test_pinsage_validation(kwargs, error, match):
    args = dict(embedding_dim=3, train_index=TRAIN_INDEX)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        PinSage(4, 4, **args)


def test_importance_neighbors_validation():
    with pytest.raises(ValueError, match="'aggr' must be one of"):
        PinSage.importance_neighbors(TRAIN_INDEX, 4, 4, aggr='sum')
    with pytest.raises(ValueError, match='item ids'):
        PinSage.importance_neighbors(TRAIN_INDEX, 4, 2)
    with pytest.raises(TypeError, match="'generator' must be a"):
        PinSage.importance_neighbors(TRAIN_INDEX, 4, 4, generator=1)
