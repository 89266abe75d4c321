r"""NGCF over a precomputed normalized adjacency."""

import numbers
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils.sparse import index2ptr, ptr2index

from torch_geometric_negsamp._random import uniform
from torch_geometric_negsamp._validate import (
    check_generator,
    check_probability,
)
from torch_geometric_negsamp.nn.adjacency import _csr
from torch_geometric_negsamp.nn.encoder import RecommenderEncoder
from torch_geometric_negsamp.nn.propagate import propagate


class NGCF(RecommenderEncoder):
    r"""The Neural Graph Collaborative Filtering encoder from Wang et al.,
    `"Neural Graph Collaborative Filtering"
    <https://arxiv.org/abs/1905.08108>`_ (SIGIR 2019).

    Each layer computes (the paper's matrix form, Eq. 7)

    .. math::
        \mathbf{E}^{(k+1)} = \mathrm{LeakyReLU}\Big(
        (\mathcal{L} + \mathbf{I}) \mathbf{E}^{(k)} \mathbf{W}_1^{(k)}
        + \big((\mathcal{L} \mathbf{E}^{(k)}) \odot \mathbf{E}^{(k)}\big)
        \mathbf{W}_2^{(k)} \Big)

    with :math:`\mathcal{L} = \mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2}`
    (from :func:`~torch_geometric_negsamp.nn.normalized_adjacency`) and
    biases on both linear maps as in the reference code, then message
    dropout. As in the reference code, the next layer propagates the
    un-normalized :math:`\mathbf{E}^{(k+1)}`, while the layer output kept for
    combination is its row-wise L2 normalization; the final embedding is the
    concatenation of the ego embedding and the :math:`K` normalized layer
    outputs, of size :math:`d (K + 1)`.

    Node dropout (during training only) drops each undirected edge of the
    adjacency with probability :obj:`node_dropout` and rescales the kept
    values by :math:`1 / (1 - p)`. Unlike the reference code, which drops
    each of the two directed non-zeros of an edge independently, both
    directions are dropped together, so the matrix stays symmetric and
    :func:`~torch_geometric_negsamp.nn.propagate` keeps its exact, fast
    backward.

    Args:
        num_users, num_items, embedding_dim, num_layers: As in
            :class:`~torch_geometric_negsamp.nn.RecommenderEncoder` (by
            default :obj:`embedding_dim=64`, the size of every layer, and
            :obj:`num_layers=3`).
        node_dropout (float, optional): The edge drop probability
            :math:`p \in [0, 1)` of node dropout. (default: :obj:`0.0`)
        message_dropout (float or Sequence[float], optional): The dropout
            probability of each layer's output, one value for all layers or
            one per layer. (default: :obj:`0.1`)
        negative_slope (float, optional): The LeakyReLU slope.
            (default: :obj:`0.2`, TensorFlow's default used by the reference)
        bias (bool, optional): Whether the linear maps have biases.
            (default: :obj:`True`)
        generator (torch.Generator, optional): The generator for node and
            message dropout (ideally on the model's device); :obj:`None` uses
            the global RNG. (default: :obj:`None`)
        **kwargs: The graph, :obj:`adj` (symmetric) or :obj:`train_index`.
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        num_layers: int = 3,
        node_dropout: float = 0.0,
        message_dropout: Union[float, Sequence[float]] = 0.1,
        negative_slope: float = 0.2,
        bias: bool = True,
        generator: Optional[torch.Generator] = None,
        **kwargs,
    ):
        super().__init__(
            num_users, num_items, embedding_dim, num_layers, **kwargs
        )
        self.node_dropout = check_probability(
            node_dropout, 'node_dropout', allow_one=False
        )
        if isinstance(message_dropout, numbers.Real) and not isinstance(
            message_dropout, bool
        ):
            message_dropout = [message_dropout] * self.num_layers
        if (
            not isinstance(message_dropout, Sequence)
            or len(message_dropout) != self.num_layers
        ):
            raise ValueError(
                f"'message_dropout' must be a float or a "
                f'sequence of {self.num_layers} floats (got '
                f'{message_dropout!r})'
            )
        self.message_dropout = [
            check_probability(p, 'message_dropout', allow_one=False)
            for p in message_dropout
        ]
        if isinstance(negative_slope, bool) or not isinstance(
            negative_slope, numbers.Real
        ):
            raise TypeError(
                f"'negative_slope' must be a float (got "
                f'{type(negative_slope).__name__})'
            )
        self.negative_slope = float(negative_slope)
        self.generator = check_generator(generator)

        d = self.embedding_dim
        self.lins_sum = torch.nn.ModuleList(
            [torch.nn.Linear(d, d, bias=bias) for _ in range(self.num_layers)]
        )
        self.lins_bi = torch.nn.ModuleList(
            [torch.nn.Linear(d, d, bias=bias) for _ in range(self.num_layers)]
        )
        # Undirected-edge id of each non-zero of the stored adjacency, for
        # node dropout; computed once here (a sort of all non-zeros).
        pair, self._num_pairs = None, 0
        if self.adj is not None and self.node_dropout > 0:
            pair, self._num_pairs = _edge_pairs(self.adj)
        self.register_buffer('_pair', pair, persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Xavier-uniform ego embeddings and weights, zero biases, as in
        the reference implementation.
        """
        torch.nn.init.xavier_uniform_(self.embedding.weight)
        for lin in list(self.lins_sum) + list(self.lins_bi):
            torch.nn.init.xavier_uniform_(lin.weight)
            if lin.bias is not None:
                torch.nn.init.zeros_(lin.bias)

    @property
    def out_channels(self) -> int:
        r"""The concatenated size :math:`d (K + 1)`."""
        return self.embedding_dim * (self.num_layers + 1)

    def layer_embeddings(self, adj: Optional[Tensor] = None) -> List[Tensor]:
        r"""Returns the ego embeddings and the :math:`K` L2-normalized layer
        outputs, each of shape :obj:`[U + I, d]`.

        Args:
            adj (torch.Tensor, optional): Overrides the stored adjacency
                (must be symmetric). (default: :obj:`None`)
        """
        stored = adj is None
        adj = self.resolve_adjacency(adj)
        if self.training and self.node_dropout > 0:
            if stored:
                pair, num_pairs = self._pair, self._num_pairs
            else:
                pair, num_pairs = _edge_pairs(adj)
            adj = _drop_edges(
                adj, pair, num_pairs, self.node_dropout, self.generator
            )

        x = self.embedding.weight
        layers = [x]
        for k in range(self.num_layers):
            side = propagate(adj, x)
            x = F.leaky_relu(
                self.lins_sum[k](side + x) + self.lins_bi[k](side * x),
                self.negative_slope,
            )
            x = self._dropout(x, self.message_dropout[k])
            layers.append(F.normalize(x, p=2.0, dim=-1))
        return layers

    def combine_layers(self, layers: List[Tensor]) -> Tensor:
        r"""The concatenation of all layers, shape
        :obj:`[U + I, d (K + 1)]`.
        """
        return torch.cat(layers, dim=-1)

    def _dropout(self, x: Tensor, p: float) -> Tensor:
        if not self.training or p == 0:
            return x
        if self.generator is None:
            return F.dropout(x, p, training=True)
        keep = uniform(x.shape, x.device, self.generator, torch.float32) >= p
        return x * keep / (1.0 - p)

    def extra_repr_args(self) -> str:
        return (
            f'node_dropout={self.node_dropout}, '
            f'message_dropout={self.message_dropout}'
        )


def _edge_pairs(adj: Tensor) -> Tuple[Tensor, int]:
    r"""Maps every non-zero of a square CSR matrix to the id of its
    undirected pair :math:`\{i, j\}`; returns the ids and their number.
    """
    num_nodes = adj.size(0)
    row = ptr2index(adj.crow_indices(), adj._nnz())
    col = adj.col_indices()
    key = torch.minimum(row, col) * num_nodes + torch.maximum(row, col)
    unique, pair = torch.unique(key, return_inverse=True)
    return pair, unique.numel()


def _drop_edges(
    adj: Tensor,
    pair: Tensor,
    num_pairs: int,
    p: float,
    generator: Optional[torch.Generator],
) -> Tensor:
    r"""Drops undirected edges with probability :obj:`p` (both directions
    together) and rescales the kept values by :math:`1 / (1 - p)`.
    """
    keep = (uniform(num_pairs, adj.device, generator, torch.float32) >= p)[
        pair
    ]
    row = ptr2index(adj.crow_indices(), adj._nnz())[keep]
    crow = index2ptr(row, adj.size(0))
    # Masking keeps the row-major order, so the result is a valid CSR.
    return _csr(
        crow,
        adj.col_indices()[keep],
        adj.values()[keep] / (1.0 - p),
        adj.size(0),
    )
