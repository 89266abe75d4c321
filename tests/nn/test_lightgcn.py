import torch
from torch_geometric.nn import LGConv
from torch_geometric.nn.models import LightGCN as PyGLightGCN
from torch_geometric.utils import to_undirected

from torch_geometric_negsamp.nn import (
    LightGCN,
    normalized_adjacency,
    propagate,
)

# 3 users, 2 items, user 2 interacting with item 0 twice.
TRAIN_INDEX = torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, 0, 0]])


def _edge_index(num_users=3):
    edge_index = torch.stack([TRAIN_INDEX[0], TRAIN_INDEX[1] + num_users])
    return to_undirected(edge_index)


def test_one_layer_equals_pyg_lgconv():
    torch.manual_seed(0)
    x = torch.randn(5, 4)
    ours = propagate(normalized_adjacency(TRAIN_INDEX, 3, 2), x)
    theirs = LGConv()(x, _edge_index())
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_lightgcn_equals_pyg_lightgcn_model():
    torch.manual_seed(0)
    model = LightGCN(
        3, 2, embedding_dim=4, num_layers=3, train_index=TRAIN_INDEX
    )
    reference = PyGLightGCN(5, 4, num_layers=3)
    reference.embedding.weight.data.copy_(model.embedding.weight.data)
    user_emb, item_emb = model()
    expected = reference.get_embedding(_edge_index())
    assert torch.allclose(torch.cat([user_emb, item_emb]), expected, atol=1e-6)


def test_lightgcn_shapes_layers_and_gradients():
    model = LightGCN(
        3, 2, embedding_dim=4, num_layers=2, train_index=TRAIN_INDEX
    )
    layers = model.layer_embeddings()
    assert len(layers) == 3 and all(t.shape == (5, 4) for t in layers)
    assert layers[0] is model.embedding.weight
    user_emb, item_emb = model()
    assert user_emb.shape == (3, 4) and item_emb.shape == (2, 4)
    assert torch.allclose(torch.cat([user_emb, item_emb]), sum(layers) / 3)
    items = torch.tensor([[0, 1], [1, 1]])
    scores = model.score(user_emb[torch.tensor([0, 1])], item_emb[items])
    assert scores.shape == (2, 2)
    scores.sum().backward()
    grad = model.embedding.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_lightgcn_adjacency_override_and_zero_layers():
    adj = normalized_adjacency(TRAIN_INDEX, 3, 2)
    model = LightGCN(3, 2, embedding_dim=4, num_layers=1, adj=adj)
    stored = torch.cat(model())
    assert torch.equal(stored, torch.cat(model(adj)))
    mf = LightGCN(3, 2, embedding_dim=4, num_layers=0)
    assert torch.equal(torch.cat(mf(adj)), mf.embedding.weight)


def test_lightgcn_init_std():
    torch.manual_seed(0)
    model = LightGCN(500, 500, embedding_dim=64, train_index=TRAIN_INDEX)
    std = model.embedding.weight.std().item()
    assert 0.095 < std < 0.105
    assert repr(model) == 'LightGCN(500, 500, embedding_dim=64, num_layers=3)'
