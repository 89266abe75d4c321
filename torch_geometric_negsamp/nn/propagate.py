r"""Sparse-dense propagation with a backward that reuses the adjacency."""

from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_like,
    check_sparse_adjacency,
    check_tensor,
)

_LAYOUTS = (torch.sparse_csr, torch.sparse_coo)


class _SparseMatmul(torch.autograd.Function):
    r"""Computes :obj:`adj @ x`; the gradient w.r.t. :obj:`x` is
    :obj:`adj_t @ grad`, with :obj:`adj_t` given (the transpose, or
    :obj:`adj` itself when :obj:`adj` is symmetric).

    PyTorch's own backward of :obj:`torch.sparse.mm(adj, x)` transposes
    :obj:`adj` on every call (a CSR -> CSC/COO conversion plus a sort of all
    non-zeros) before the product: on a graph with millions of non-zeros
    that conversion costs as much as the product itself. A graph adjacency
    is constant during training, so its transpose is known up front, and for
    the symmetric normalized adjacency of an undirected graph it *is* the
    adjacency: the backward is then one more sparse-dense product.
    """

    @staticmethod
    def forward(ctx: Any, adj: Tensor, adj_t: Tensor, x: Tensor) -> Tensor:
        ctx.adj_t = adj_t
        return torch.sparse.mm(adj, x)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> Tuple[None, None, Tensor]:
        grad_x = None
        if ctx.needs_input_grad[2]:
            grad_x = torch.sparse.mm(ctx.adj_t, grad_out.contiguous())
        return None, None, grad_x


def propagate(
    adj: Tensor, x: Tensor, adj_t: Optional[Tensor] = None
) -> Tensor:
    r"""Sparse-dense product :math:`\mathbf{A} \mathbf{X}` whose backward is
    :math:`\mathbf{A}^{\top} \nabla`, with :math:`\mathbf{A}^{\top}` given
    instead of rebuilt on every call.

    For the symmetric normalized adjacency of
    :func:`~torch_geometric_negsamp.nn.normalized_adjacency`,
    :math:`\mathbf{A}^{\top} = \mathbf{A}`, so leave :obj:`adj_t` as
    :obj:`None`. PyTorch's own backward of :obj:`torch.sparse.mm`
    transposes the sparse matrix at every step (a conversion and sort of all
    non-zeros); skipping it makes a LightGCN training step markedly faster
    (see :obj:`benchmarks/bench_propagation.py`). No gradient flows to the
    values of :obj:`adj`: it is a constant of the graph.

    Works on CPU and CUDA with :mod:`torch.sparse` alone (no
    :obj:`torch_sparse` needed).

    Args:
        adj (torch.Tensor): Sparse matrix of shape :obj:`[N, M]`, layout
            :obj:`torch.sparse_csr` (fastest) or :obj:`torch.sparse_coo`.
            Must be symmetric when :obj:`adj_t` is :obj:`None`; this is
            not checked (it would cost as much as the product).
        x (torch.Tensor): Dense features of shape :obj:`[M, F]`, same dtype
            and device as :obj:`adj`.
        adj_t (torch.Tensor, optional): The transpose of :obj:`adj`, shape
            :obj:`[M, N]`, used by the backward. (default: :obj:`None`,
            meaning :obj:`adj` is symmetric)

    Returns:
        torch.Tensor: Dense tensor of shape :obj:`[N, F]`.
    """
    check_sparse_adjacency(adj, 'adj', layouts=_LAYOUTS, square=False)
    if adj_t is None:
        if adj.size(0) != adj.size(1):
            raise ValueError(
                f"'adj' must be square when 'adj_t' is None "
                f'(got shape {list(adj.shape)})'
            )
        adj_t = adj
    else:
        check_sparse_adjacency(adj_t, 'adj_t', layouts=_LAYOUTS, square=False)
        if tuple(adj_t.shape) != (adj.size(1), adj.size(0)):
            raise ValueError(
                f"'adj_t' must have shape "
                f'{[adj.size(1), adj.size(0)]} (the transpose '
                f"of 'adj') (got {list(adj_t.shape)})"
            )
    check_tensor(x, 'x')
    if x.dim() != 2 or x.size(0) != adj.size(1):
        raise ValueError(
            f"'x' must have shape [{adj.size(1)}, F] (got {list(x.shape)})"
        )
    check_like(x, 'x', adj, "'adj'")
    return _SparseMatmul.apply(adj, adj_t, x)
