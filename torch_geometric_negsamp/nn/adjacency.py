r"""The symmetric normalized adjacency of a user-item graph."""

import warnings
from typing import Tuple

import torch
from torch import Tensor
from torch_geometric.utils import degree, to_undirected
from torch_geometric.utils.sparse import index2ptr

from torch_geometric_negsamp._validate import check_int, check_user_item_index


def normalized_adjacency(
    train_index: Tensor,
    num_users: int,
    num_items: int,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""Builds the symmetric normalized adjacency matrix of a bipartite
    user-item graph, as used by LightGCN (He et al., `"LightGCN: Simplifying
    and Powering Graph Convolution Network for Recommendation"
    <https://arxiv.org/abs/2002.02126>`_, SIGIR 2020) and NGCF:

    .. math::
        \tilde{\mathbf{A}} = \mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2},
        \qquad
        \mathbf{A} = \begin{pmatrix} \mathbf{0} & \mathbf{R} \\
        \mathbf{R}^{\top} & \mathbf{0} \end{pmatrix}

    over :obj:`num_users + num_items` nodes (item :obj:`i` is node
    :obj:`num_users + i`). :math:`\mathbf{R}` is binary: repeated
    interactions count once. Nodes without interactions get an empty row
    and column (no :obj:`NaN`). The result equals what
    :class:`torch_geometric.nn.conv.LGConv` computes on the undirected
    :obj:`edge_index` at every call; build it once per graph and reuse it.

    Args:
        train_index (torch.Tensor): The training interactions, shape
            :obj:`[2, E]`, dtype :obj:`torch.long`: row 0 user ids in
            :obj:`[0, num_users)`, row 1 item ids in :obj:`[0, num_items)`.
        num_users (int): The number of users :obj:`U`.
        num_items (int): The number of items :obj:`I`.
        dtype (torch.dtype, optional): The dtype of the values.
            (default: :obj:`torch.float32`)

    Returns:
        torch.Tensor: A :obj:`torch.sparse_csr` tensor of shape
        :obj:`[U + I, U + I]` on the device of :obj:`train_index`, with
        sorted column indices in every row.
    """
    train_index, num_users, num_items = check_graph(
        train_index, num_users, num_items
    )
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"'dtype' must be a floating point torch.dtype (got {dtype!r})"
        )

    num_nodes = num_users + num_items
    edge_index = torch.stack([train_index[0], train_index[1] + num_users])
    # Both directions, sorted by (row, col), duplicates removed:
    edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    row, col = edge_index[0], edge_index[1]

    deg = degree(row, num_nodes, dtype=dtype)
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt.masked_fill_(deg == 0, 0.0)
    value = deg_inv_sqrt[row] * deg_inv_sqrt[col]

    return _csr(index2ptr(row, num_nodes), col, value, num_nodes)


def check_graph(
    train_index: Tensor, num_users: int, num_items: int
) -> Tuple[Tensor, int, int]:
    r"""The checked ``(train_index, num_users, num_items)`` of a user-item
    graph: positive sizes and a ``[2, E]`` index of (user, item) ids in
    range, returned as :obj:`torch.long`."""
    num_users = check_int(num_users, 'num_users', minimum=1)
    num_items = check_int(num_items, 'num_items', minimum=1)
    train_index = check_user_item_index(
        train_index, 'train_index', num_users, num_items
    )
    return train_index, num_users, num_items


def _csr(crow: Tensor, col: Tensor, value: Tensor, num_nodes: int) -> Tensor:
    # The indices are valid by construction, so the invariant check is
    # skipped explicitly; the one-time "beta" notice of torch.sparse CSR is
    # silenced as it says nothing actionable to the user of this package.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            'ignore', message='.*Sparse CSR tensor support is in beta.*'
        )
        return torch.sparse_csr_tensor(
            crow, col, value, (num_nodes, num_nodes), check_invariants=False
        )
