import pytest
import torch

from torch_geometric_negsamp.nn import normalized_adjacency, propagate

TRAIN_INDEX = torch.tensor([[0, 0, 1, 2], [0, 1, 1, 0]])


def _dense_check(adj, adj_t=None):
    torch.manual_seed(0)
    x = torch.randn(adj.size(1), 3, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(adj.size(0), 3, dtype=torch.float64)
    out = propagate(adj, x, adj_t=adj_t)
    out.backward(upstream)
    x_dense = x.detach().clone().requires_grad_()
    out_dense = adj.to_dense() @ x_dense
    out_dense.backward(upstream)
    assert torch.allclose(out, out_dense)
    assert torch.allclose(x.grad, x_dense.grad)
    return out


def test_propagate_symmetric_gradient_equals_dense():
    adj = normalized_adjacency(TRAIN_INDEX, 3, 2, dtype=torch.float64)
    out = _dense_check(adj)
    # The custom function, not torch.sparse.mm's own backward, is recorded.
    assert 'SparseMatmul' in type(out.grad_fn).__name__


def test_propagate_coo_layout():
    adj = normalized_adjacency(TRAIN_INDEX, 3, 2, dtype=torch.float64)
    _dense_check(adj.to_sparse_coo())


def test_propagate_non_symmetric_with_transpose():
    dense = torch.tensor(
        [[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]], dtype=torch.float64
    )
    adj = dense.to_sparse_csr()
    _dense_check(adj, adj_t=dense.t().to_sparse_csr())


def test_propagate_without_grad():
    adj = normalized_adjacency(TRAIN_INDEX, 3, 2)
    out = propagate(adj, torch.ones(5, 2))
    assert not out.requires_grad
    assert torch.allclose(out, adj.to_dense() @ torch.ones(5, 2))


def test_propagate_validation():
    adj = normalized_adjacency(TRAIN_INDEX, 3, 2)
    x = torch.ones(5, 2)
    with pytest.raises(TypeError, match="'adj' must have layout torch.spa"):
        propagate(adj.to_dense(), x)
    with pytest.raises(TypeError, match="'adj' must be a sparse torch.Ten"):
        propagate([[1.0]], x)
    with pytest.raises(ValueError, match="'adj' must be 2-dimensional"):
        propagate(torch.ones(5, 5, 2).to_sparse(), x)
    with pytest.raises(ValueError, match="'adj' must not require grad"):
        propagate(adj.clone().requires_grad_(), x)
    rect = torch.ones(2, 5).to_sparse_csr()
    with pytest.raises(ValueError, match="'adj' must be square"):
        propagate(rect, x)
    with pytest.raises(TypeError, match="'adj_t' must have layout"):
        propagate(rect, x, adj_t=torch.ones(5, 2))
    with pytest.raises(ValueError, match=r"'adj_t' must have shape \[5, 2\]"):
        propagate(rect, x, adj_t=rect)
    with pytest.raises(ValueError, match="'adj_t' must not require grad"):
        propagate(
            rect, x, adj_t=torch.ones(5, 2).to_sparse_csr().requires_grad_()
        )
    with pytest.raises(TypeError, match="'x' must be a torch.Tensor"):
        propagate(adj, 1.0)
    with pytest.raises(ValueError, match=r"'x' must have shape \[5, F\]"):
        propagate(adj, torch.ones(4, 2))
    with pytest.raises(ValueError, match=r"'x' must have shape \[5, F\]"):
        propagate(adj, torch.ones(5))
    with pytest.raises(TypeError, match="'x' must have the dtype"):
        propagate(adj, x.double())
    with pytest.raises(ValueError, match="'x' is on meta"):
        propagate(adj, torch.ones(5, 2, device='meta'))
