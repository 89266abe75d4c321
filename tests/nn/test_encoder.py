import pytest
import torch

from torch_geometric_negsamp.nn import (
    LightGCN,
    RecommenderEncoder,
    normalized_adjacency,
)

TRAIN_INDEX = torch.tensor([[0, 0, 1, 2], [0, 1, 1, 0]])


class _Identity(RecommenderEncoder):
    def layer_embeddings(self, adj=None):
        self.resolve_adjacency(adj)
        return [self.embedding.weight]

    def combine_layers(self, layers):
        return layers[-1]


def test_encoder_base_is_abstract():
    encoder = RecommenderEncoder(3, 2, 4, 1, train_index=TRAIN_INDEX)
    with pytest.raises(NotImplementedError):
        encoder()
    with pytest.raises(NotImplementedError):
        encoder.combine_layers([torch.ones(5, 4)])


def test_encoder_forward_splits_users_and_items():
    encoder = _Identity(3, 2, 4, 0, train_index=TRAIN_INDEX)
    user_emb, item_emb = encoder()
    assert torch.equal(user_emb, encoder.embedding.weight[:3])
    assert torch.equal(item_emb, encoder.embedding.weight[3:])
    assert encoder.num_nodes == 5 and encoder.out_channels == 4
    assert repr(encoder) == '_Identity(3, 2, embedding_dim=4, num_layers=0)'


def test_encoder_adjacency_buffer_moves_but_is_not_saved():
    encoder = _Identity(3, 2, 4, 0, train_index=TRAIN_INDEX)
    assert 'adj' not in encoder.state_dict()
    encoder = encoder.double()
    assert encoder.adj.dtype == torch.float64
    assert encoder()[0].dtype == torch.float64


def test_score_shapes_and_values():
    encoder = _Identity(3, 2, 4, 0, train_index=TRAIN_INDEX)
    user_emb = torch.tensor([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    item_emb = torch.tensor([[3.0, 5.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    assert torch.equal(
        encoder.score(user_emb, item_emb), torch.tensor([5.0, 2.0])
    )
    # [B, k, d] with synthetic (non-table) item embeddings.
    items = torch.arange(24, dtype=torch.float).view(2, 3, 4)
    scores = encoder.score(user_emb, items)
    assert scores.shape == (2, 3)
    for b in range(2):
        for j in range(3):
            assert scores[b, j] == (user_emb[b] * items[b, j]).sum()


def test_score_validation():
    encoder = _Identity(3, 2, 4, 0, train_index=TRAIN_INDEX)
    with pytest.raises(TypeError, match='must be tensors'):
        encoder.score([1.0], torch.ones(1, 4))
    with pytest.raises(ValueError, match=r"'user_emb' must have shape"):
        encoder.score(torch.ones(2, 1, 4), torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"'item_emb' must have shape"):
        encoder.score(torch.ones(2, 4), torch.ones(3, 4))
    with pytest.raises(ValueError, match=r"'item_emb' must have shape"):
        encoder.score(torch.ones(2, 4), torch.ones(2, 3, 5))
    with pytest.raises(ValueError, match=r"'item_emb' must have shape"):
        encoder.score(torch.ones(2, 4), torch.ones(4))


def test_reg_embeddings_are_ego_rows():
    encoder = _Identity(3, 2, 4, 0, train_index=TRAIN_INDEX)
    weight = encoder.embedding.weight
    users, items = torch.tensor([2, 0]), torch.tensor([[1, 0, 1], [0, 0, 1]])
    user_ego, item_ego = encoder.reg_embeddings(users, items)
    assert user_ego.shape == (2, 4) and item_ego.shape == (2, 3, 4)
    assert torch.equal(user_ego[0], weight[2])
    assert torch.equal(item_ego[0, 0], weight[3 + 1])
    with pytest.raises(TypeError, match="'users' must be a torch.long"):
        encoder.reg_embeddings(torch.tensor([0.0]), items)
    with pytest.raises(TypeError, match="'items' must be a torch.Tensor"):
        encoder.reg_embeddings(users, [0])


def test_encoder_adjacency_resolution():
    adj = normalized_adjacency(TRAIN_INDEX, 3, 2)
    encoder = _Identity(3, 2, 4, 0)
    with pytest.raises(ValueError, match='has no adjacency'):
        encoder()
    assert encoder(adj)[0].shape == (3, 4)
    with pytest.raises(ValueError, match=r"'adj' must have shape \[5, 5\]"):
        encoder(normalized_adjacency(TRAIN_INDEX, 3, 3))
    with pytest.raises(TypeError, match="'adj' must have layout"):
        encoder(adj.to_dense())
    with pytest.raises(TypeError, match="'adj' must have the dtype"):
        encoder(adj.double())
    with pytest.raises(ValueError, match="'adj' must be on the device"):
        encoder(adj.to('meta'))


@pytest.mark.parametrize(
    'kwargs, error, match',
    [
        (dict(adj=1), TypeError, "'adj' must be a sparse torch.Tensor"),
        (
            dict(adj=torch.ones(5, 4).to_sparse_csr()),
            ValueError,
            "'adj' must be a square matrix",
        ),
        (
            dict(adj=normalized_adjacency(TRAIN_INDEX, 3, 2).requires_grad_()),
            ValueError,
            "'adj' must not require grad",
        ),
        (
            dict(
                adj=normalized_adjacency(TRAIN_INDEX, 3, 2),
                train_index=TRAIN_INDEX,
            ),
            ValueError,
            'at most one',
        ),
        (dict(train_index=torch.tensor([[5], [0]])), ValueError, 'user ids'),
        (
            dict(embedding_dim=0),
            ValueError,
            "'embedding_dim' must be a positive integer",
        ),
        (dict(num_layers=-1), ValueError, "'num_layers' must be non-negative"),
        (dict(num_users='3'), TypeError, "'num_users' must be an int"),
    ],
)
def test_encoder_validation(kwargs, error, match):
    args = dict(num_users=3, num_items=2, embedding_dim=4, num_layers=1)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        LightGCN(**args)
