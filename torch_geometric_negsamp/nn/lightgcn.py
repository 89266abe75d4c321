r"""LightGCN over a precomputed normalized adjacency."""

from typing import List, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp.nn.encoder import RecommenderEncoder
from torch_geometric_negsamp.nn.propagate import propagate


class LightGCN(RecommenderEncoder):
    r"""The LightGCN encoder from He et al., `"LightGCN: Simplifying and
    Powering Graph Convolution Network for Recommendation"
    <https://arxiv.org/abs/2002.02126>`_ (SIGIR 2020).

    .. math::
        \mathbf{E}^{(k+1)} = \tilde{\mathbf{A}} \mathbf{E}^{(k)}, \qquad
        \mathbf{E} = \frac{1}{K+1} \sum_{k=0}^{K} \mathbf{E}^{(k)}

    with :math:`\tilde{\mathbf{A}} = \mathbf{D}^{-1/2} \mathbf{A}
    \mathbf{D}^{-1/2}` the symmetric normalized user-item adjacency of
    :func:`~torch_geometric_negsamp.nn.normalized_adjacency`. One layer
    equals :class:`torch_geometric.nn.conv.LGConv` on the undirected
    :obj:`edge_index` (a test pins this).

    The layers do not call :class:`~torch_geometric.nn.conv.LGConv`:
    given an :obj:`edge_index`, :obj:`LGConv` recomputes the degree
    normalization (:obj:`gcn_norm`) at every call, and its message passing
    gathers and scatters one message per edge, each with autograd saving
    intermediates; with a CSR adjacency it runs :obj:`torch.sparse.mm`, whose
    backward transposes the matrix at each step. Here the normalized CSR
    matrix is built once and every layer is one sparse-dense product with a
    backward that reuses the (symmetric) matrix
    (:func:`~torch_geometric_negsamp.nn.propagate`); see
    :obj:`benchmarks/bench_propagation.py` for the difference.

    Ego embeddings are initialized from :math:`\mathcal{N}(0, 0.1^2)`, as
    in the reference implementation.

    It takes the arguments of
    :class:`~torch_geometric_negsamp.nn.RecommenderEncoder` (by default
    :obj:`embedding_dim=64` and :obj:`num_layers=3`); a given :obj:`adj`
    must be symmetric.
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        num_layers: int = 3,
        **kwargs,
    ):
        super().__init__(
            num_users, num_items, embedding_dim, num_layers, **kwargs
        )
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the ego embeddings to :math:`\mathcal{N}(0, 0.1^2)`."""
        torch.nn.init.normal_(self.embedding.weight, std=0.1)

    def layer_embeddings(self, adj: Optional[Tensor] = None) -> List[Tensor]:
        r"""Returns :math:`[\mathbf{E}^{(0)}, \ldots, \mathbf{E}^{(K)}]`,
        each of shape :obj:`[U + I, d]`.

        Args:
            adj (torch.Tensor, optional): Overrides the stored adjacency
                (must be symmetric). (default: :obj:`None`)
        """
        adj = self.resolve_adjacency(adj)
        x = self.embedding.weight
        layers = [x]
        for _ in range(self.num_layers):
            x = propagate(adj, x)
            layers.append(x)
        return layers

    def combine_layers(self, layers: List[Tensor]) -> Tensor:
        r"""The layer mean, :math:`\alpha_k = 1 / (K + 1)`."""
        out = layers[0]
        for layer in layers[1:]:
            out = out + layer
        return out / len(layers)
