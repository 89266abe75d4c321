r"""PinSage with random-walk importance neighbourhoods."""

from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import scatter, to_undirected
from torch_geometric.utils.sparse import index2ptr

from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp._validate import (
    check_choice,
    check_generator,
    check_int,
    check_sparse_adjacency,
)
from torch_geometric_negsamp.nn.adjacency import _csr, check_graph
from torch_geometric_negsamp.nn.encoder import RecommenderEncoder
from torch_geometric_negsamp.nn.propagate import propagate

_AGGRS = ('importance', 'mean')


class PinSage(RecommenderEncoder):
    r"""The PinSage encoder from Ying et al., `"Graph Convolutional Neural
    Networks for Web-Scale Recommender Systems"
    <https://arxiv.org/abs/1806.01973>`_ (KDD 2018), in the full-graph form
    used as a backbone by MixGCF (KDD 2021) and RecNS.

    **Neighbourhoods.** At construction, :obj:`num_walks` random walks of
    :obj:`walk_length` steps start from every node of the undirected
    user-item graph (the bipartite graph itself, users and items alike).
    The :obj:`top_k` most visited nodes other than the start node form its
    importance neighbourhood, with weights proportional to the visit counts
    and summing to one (ties go to the smaller node id). Walks may end on
    either side of the graph, so a user's neighbours are its items (odd
    steps) and co-interacting users (even steps), and an item's are its users
    and co-visited items. PinSage on the pin-board graph keeps only
    same-type nodes; here the neighbourhood keeps both types, so that, as in
    LightGCN and NGCF, user and item embeddings exchange information.
    The result is a fixed sparse row-stochastic matrix :math:`\mathbf{P}` of
    shape :obj:`[U + I, U + I]` (attribute :obj:`adj`).

    **Convolution.** Each layer computes

    .. math::
        \mathbf{h}'_v = \mathrm{normalize}\Big(\mathrm{ReLU}\big(
        \mathbf{W} [\mathbf{h}_v \,\|\, \textstyle\sum_{u}
        \mathbf{P}_{vu} \mathbf{h}_u] + \mathbf{b}\big)\Big)

    i.e. importance pooling (:obj:`aggr='importance'`) or the plain mean
    over the same neighbours (:obj:`aggr='mean'`). Neighbourless nodes
    aggregate zeros.

    **Layer combination.** The final layer is the output (as in PinSage and
    GraphSAGE), of size :obj:`embedding_dim`; :meth:`layer_embeddings` still
    returns every layer. Outputs are unit-norm and non-negative, so scores
    lie in :math:`[0, 1]`.

    Args:
        num_users, num_items, embedding_dim, num_layers: As in
            :class:`~torch_geometric_negsamp.nn.RecommenderEncoder` (by
            default :obj:`embedding_dim=64` and :obj:`num_layers=2`).
        num_walks (int, optional): The number of walks per node.
            (default: :obj:`20`)
        walk_length (int, optional): The number of steps of each walk.
            (default: :obj:`2`)
        top_k (int, optional): The neighbourhood size :math:`T`.
            (default: :obj:`10`)
        aggr (str, optional): :obj:`'importance'` (visit-count weighted
            mean) or :obj:`'mean'`. (default: :obj:`'importance'`)
        train_index (torch.Tensor): The training interactions :obj:`[2, E]`
            of (user, item) to walk on (required).
        generator (torch.Generator, optional): The generator of the random
            walks (on the device of :obj:`train_index`); :obj:`None` uses the
            global RNG. (default: :obj:`None`)
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        num_layers: int = 2,
        num_walks: int = 20,
        walk_length: int = 2,
        top_k: int = 10,
        aggr: str = 'importance',
        train_index: Optional[Tensor] = None,
        generator: Optional[torch.Generator] = None,
    ):
        if train_index is None:
            raise ValueError(
                "PinSage requires 'train_index' (the graph its "
                'random walks run on) (got None)'
            )
        self.num_walks, self.walk_length, self.top_k, self.aggr = _check_walks(
            num_walks, walk_length, top_k, aggr
        )
        self.generator = check_generator(generator)
        # The base class validates and calls build_adjacency(train_index).
        super().__init__(
            num_users,
            num_items,
            embedding_dim,
            num_layers,
            train_index=train_index,
        )
        self.register_buffer('adj_t', _transpose(self.adj), persistent=False)
        d = self.embedding_dim
        self.lins = torch.nn.ModuleList(
            [torch.nn.Linear(2 * d, d) for _ in range(self.num_layers)]
        )
        self.reset_parameters()

    def reset_parameters(self):
        r"""Xavier-uniform ego embeddings and weights, zero biases."""
        torch.nn.init.xavier_uniform_(self.embedding.weight)
        for lin in self.lins:
            torch.nn.init.xavier_uniform_(lin.weight)
            torch.nn.init.zeros_(lin.bias)

    def build_adjacency(self, train_index: Tensor) -> Tensor:
        r"""Builds the row-stochastic importance matrix :math:`\mathbf{P}`
        from random walks on :obj:`train_index`.
        """
        edge_index, weight = self.importance_neighbors(
            train_index,
            self.num_users,
            self.num_items,
            self.num_walks,
            self.walk_length,
            self.top_k,
            self.aggr,
            self.generator,
        )
        num_nodes = self.num_users + self.num_items
        return _csr(
            index2ptr(edge_index[0], num_nodes),
            edge_index[1],
            weight.to(torch.get_default_dtype()),
            num_nodes,
        )

    @staticmethod
    def importance_neighbors(
        train_index: Tensor,
        num_users: int,
        num_items: int,
        num_walks: int = 20,
        walk_length: int = 2,
        top_k: int = 10,
        aggr: str = 'importance',
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[Tensor, Tensor]:
        r"""Random-walk importance neighbourhoods on the undirected
        user-item graph (see the class description).

        Walks are vectorized over all :obj:`(U + I) * num_walks` walkers
        (pure PyTorch, no :obj:`torch_cluster` needed); each step picks a
        uniform neighbour from the CSR graph.

        Args:
            train_index (torch.Tensor): Interactions :obj:`[2, E]`.
            num_users (int): The number of users :obj:`U`.
            num_items (int): The number of items :obj:`I`.
            num_walks (int, optional): Walks per node. (default: :obj:`20`)
            walk_length (int, optional): Steps per walk. (default: :obj:`2`)
            top_k (int, optional): Neighbours kept per node.
                (default: :obj:`10`)
            aggr (str, optional): :obj:`'importance'` (weights proportional
                to visit counts) or :obj:`'mean'` (equal weights).
                (default: :obj:`'importance'`)
            generator (torch.Generator, optional): The generator of the
                walks. (default: :obj:`None`)

        Returns:
            (torch.Tensor, torch.Tensor): :obj:`edge_index` of shape
            :obj:`[2, M]` (row: node, col: neighbour; sorted by node, then by
            decreasing weight) and :obj:`weight` of shape :obj:`[M]`, summing
            to one per node that has neighbours.
        """
        train_index, num_users, num_items = check_graph(
            train_index, num_users, num_items
        )
        num_walks, walk_length, top_k, aggr = _check_walks(
            num_walks, walk_length, top_k, aggr
        )
        check_generator(generator)

        device = train_index.device
        num_nodes = num_users + num_items
        edge_index = torch.stack([train_index[0], train_index[1] + num_users])
        edge_index = to_undirected(edge_index, num_nodes=num_nodes)
        rowptr = index2ptr(edge_index[0], num_nodes)
        col = edge_index[1]
        deg = rowptr[1:] - rowptr[:-1]

        start = torch.arange(num_nodes, device=device)
        start = start[deg > 0].repeat_interleave(num_walks)
        cur = start
        keys = []
        # A walker never stops: every node reached has a neighbour (the
        # graph is undirected), and isolated nodes start no walk.
        for _ in range(walk_length):
            cur_deg = deg[cur]
            offset = randint_below(cur_deg, generator)
            cur = col[rowptr[cur] + offset]
            keys.append(start * num_nodes + cur)
        key = torch.cat(keys) if keys else start.new_empty(0)
        key = key[key // num_nodes != key % num_nodes]  # no self-visits

        key, count = torch.unique(key, return_counts=True)  # sorted
        src, dst = key // num_nodes, key % num_nodes
        # Order by (src, count descending, dst): stable sorts keep the
        # ascending dst order among equal counts.
        perm = torch.argsort(-count, stable=True)
        perm = perm[torch.argsort(src[perm], stable=True)]
        src, dst, count = src[perm], dst[perm], count[perm]
        ptr = index2ptr(src, num_nodes)
        rank = torch.arange(src.numel(), device=device) - ptr[src]
        mask = rank < top_k
        src, dst, count = src[mask], dst[mask], count[mask]

        if aggr == 'importance':
            weight = count.to(torch.float)
        else:
            weight = torch.ones(src.numel(), device=device)
        weight = weight / scatter(weight, src, 0, num_nodes, 'sum')[src]
        return torch.stack([src, dst]), weight

    def layer_embeddings(self, adj: Optional[Tensor] = None) -> List[Tensor]:
        r"""Returns the ego embeddings and the :math:`K` layer outputs, each
        of shape :obj:`[U + I, d]`.

        Args:
            adj (torch.Tensor, optional): Overrides the stored importance
                matrix :math:`\mathbf{P}` (:obj:`torch.sparse_csr`, row
                :obj:`v` holding the weights of :obj:`v`'s neighbours); it is
                transposed at every call for the backward.
                (default: :obj:`None`)
        """
        if adj is None:
            adj_t = self.adj_t
            adj = self.resolve_adjacency(None)
        else:
            adj = self.resolve_adjacency(adj)
            adj_t = _transpose(adj)
        x = self.embedding.weight
        layers = [x]
        for lin in self.lins:
            agg = propagate(adj, x, adj_t=adj_t)
            x = F.normalize(F.relu(lin(torch.cat([x, agg], dim=-1))), dim=-1)
            layers.append(x)
        return layers

    def combine_layers(self, layers: List[Tensor]) -> Tensor:
        r"""The final layer, shape :obj:`[U + I, d]`."""
        return layers[-1]

    def extra_repr_args(self) -> str:
        return (
            f'num_walks={self.num_walks}, '
            f'walk_length={self.walk_length}, top_k={self.top_k}, '
            f"aggr='{self.aggr}'"
        )


def _check_walks(
    num_walks: int, walk_length: int, top_k: int, aggr: str
) -> Tuple[int, int, int, str]:
    r"""The checked settings of the random-walk neighbourhoods."""
    return (
        check_int(num_walks, 'num_walks', minimum=1),
        check_int(walk_length, 'walk_length', minimum=1),
        check_int(top_k, 'top_k', minimum=1),
        check_choice(aggr, 'aggr', _AGGRS),
    )


def _transpose(adj: Tensor) -> Tensor:
    r"""The transpose of a CSR matrix, as CSR (built once per matrix).

    Goes through COO (transpose, coalesce, convert), the conversions
    supported on every device.
    """
    check_sparse_adjacency(adj, 'adj')
    return adj.to_sparse_coo().t().coalesce().to_sparse_csr()
