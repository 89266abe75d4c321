import pytest
import torch

from torch_geometric_negsamp.nn import NGCF, normalized_adjacency
from torch_geometric_negsamp.nn.ngcf import _drop_edges, _edge_pairs

TRAIN_INDEX = torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, 0, 2]])


def _model(**kwargs):
    torch.manual_seed(0)
    args = dict(embedding_dim=4, num_layers=2, train_index=TRAIN_INDEX)
    args.update(kwargs)
    return NGCF(3, 3, **args)


def test_ngcf_eval_matches_dense_reimplementation():
    model = _model().eval()
    L = normalized_adjacency(TRAIN_INDEX, 3, 3).to_dense()
    x = model.embedding.weight
    expected = [x]
    for k in range(2):
        W1, b1 = model.lins_sum[k].weight, model.lins_sum[k].bias
        W2, b2 = model.lins_bi[k].weight, model.lins_bi[k].bias
        side = L @ x
        h = ((L + torch.eye(6)) @ x) @ W1.t() + b1 + (side * x) @ W2.t() + b2
        x = torch.where(h > 0, h, 0.2 * h)
        expected.append(x / x.norm(dim=1, keepdim=True))
    layers = model.layer_embeddings()
    for got, want in zip(layers, expected):
        assert torch.allclose(got, want, atol=1e-6)
    user_emb, item_emb = model()
    assert torch.allclose(
        torch.cat([user_emb, item_emb]), torch.cat(expected, dim=1), atol=1e-6
    )


def test_ngcf_shapes_and_gradients():
    model = _model()
    assert model.out_channels == 12
    user_emb, item_emb = model()
    assert user_emb.shape == (3, 12) and item_emb.shape == (3, 12)
    model.score(
        user_emb, item_emb.unsqueeze(1).expand(3, 5, 12)
    ).sum().backward()
    assert model.embedding.weight.grad.abs().sum() > 0
    assert model.lins_bi[0].weight.grad.abs().sum() > 0
    assert 'node_dropout=0.0' in repr(model)


def test_ngcf_dropout_is_seeded_and_off_in_eval():
    def run(seed, train=True):
        model = _model(
            node_dropout=0.5,
            message_dropout=[0.5, 0.2],
            generator=torch.Generator().manual_seed(seed),
        )
        model.train(train)
        return torch.cat(model())

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))
    assert torch.equal(run(1, train=False), run(2, train=False))
    # Without a generator, dropout follows the global RNG.
    model = _model(node_dropout=0.3)
    torch.manual_seed(5)
    first = torch.cat(model())
    torch.manual_seed(5)
    assert torch.equal(first, torch.cat(model()))


def test_ngcf_node_dropout_keeps_symmetry_and_rescales():
    adj = normalized_adjacency(TRAIN_INDEX, 3, 3)
    pair, num_pairs = _edge_pairs(adj)
    assert num_pairs == 5
    dense = adj.to_dense()
    for seed in range(5):
        dropped = _drop_edges(
            adj, pair, num_pairs, 0.5, torch.Generator().manual_seed(seed)
        ).to_dense()
        assert torch.equal(dropped, dropped.t())
        kept = dropped != 0
        assert torch.allclose(dropped[kept], dense[kept] * 2)
        assert ((dense != 0) | ~kept).all()


def test_ngcf_node_dropout_with_given_adjacency():
    adj = normalized_adjacency(TRAIN_INDEX, 3, 3)
    model = NGCF(
        3,
        3,
        embedding_dim=4,
        num_layers=1,
        node_dropout=0.5,
        generator=torch.Generator().manual_seed(0),
    )
    user_emb, _ = model(adj)
    assert user_emb.shape == (3, 8)


@pytest.mark.parametrize(
    'kwargs, error, match',
    [
        (dict(node_dropout=1.0), ValueError, "'node_dropout' must be in"),
        (
            dict(node_dropout='0.1'),
            TypeError,
            "'node_dropout' must be a float",
        ),
        (
            dict(message_dropout=[0.1]),
            ValueError,
            "'message_dropout' must be a float or a sequence of 2",
        ),
        (
            dict(message_dropout=[0.1, -0.1]),
            ValueError,
            "'message_dropout' must be in",
        ),
        (
            dict(negative_slope='x'),
            TypeError,
            "'negative_slope' must be a float",
        ),
        (
            dict(generator=0),
            TypeError,
            "'generator' must be a torch.Generator",
        ),
    ],
)
def test_ngcf_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        _model(**kwargs)
