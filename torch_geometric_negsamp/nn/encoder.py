r"""The common interface of the graph recommender encoders."""

from typing import List, Optional, Tuple

import torch
from torch import Tensor

from torch_geometric_negsamp._repr import ArgumentRepr
from torch_geometric_negsamp._validate import (
    check_int,
    check_like,
    check_sparse_adjacency,
    check_tensor,
    check_user_item_index,
)
from torch_geometric_negsamp.nn.adjacency import normalized_adjacency


class RecommenderEncoder(ArgumentRepr, torch.nn.Module):
    r"""Base class of the user-item graph encoders
    (:class:`~torch_geometric_negsamp.nn.LightGCN`,
    :class:`~torch_geometric_negsamp.nn.NGCF`,
    :class:`~torch_geometric_negsamp.nn.PinSage`).

    An encoder holds one ego embedding table of :obj:`U + I` rows (users
    first, item :obj:`i` at row :obj:`U + i`), propagates it over a graph
    into per-layer embeddings (:meth:`layer_embeddings`), combines the layers
    (:meth:`combine_layers`) and splits the result into users and items
    (:meth:`forward`). Negative samplers and selectors rely only on this
    interface: :meth:`score` takes plain tensors, so synthesized item
    embeddings (e.g. MixGCF's mixed negatives) can be scored like real ones.

    Subclasses implement :meth:`layer_embeddings` and
    :meth:`combine_layers`, and set :attr:`out_channels` when the combined
    size differs from :obj:`embedding_dim`.

    Args:
        num_users (int): The number of users :obj:`U`.
        num_items (int): The number of items :obj:`I`.
        embedding_dim (int): The size :obj:`d` of the ego embeddings.
        num_layers (int): The number of propagation layers :obj:`K`
            (:obj:`0` gives plain matrix factorization).
        adj (torch.Tensor, optional): A precomputed propagation matrix of
            shape :obj:`[U + I, U + I]` and layout :obj:`torch.sparse_csr`,
            e.g. from :func:`~torch_geometric_negsamp.nn.normalized_adjacency`.
            Stored as a non-persistent buffer (it moves with
            :meth:`~torch.nn.Module.to`, and is not saved in the
            :obj:`state_dict`). (default: :obj:`None`)
        train_index (torch.Tensor, optional): The training interactions,
            shape :obj:`[2, E]` of (user, item); the adjacency is built from
            them once. Give at most one of :obj:`adj` and
            :obj:`train_index`; with neither, pass :obj:`adj` to
            :meth:`forward`. (default: :obj:`None`)
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int,
        num_layers: int,
        adj: Optional[Tensor] = None,
        train_index: Optional[Tensor] = None,
    ):
        super().__init__()
        self.num_users = check_int(num_users, 'num_users', minimum=1)
        self.num_items = check_int(num_items, 'num_items', minimum=1)
        self.embedding_dim = check_int(
            embedding_dim, 'embedding_dim', minimum=1
        )
        self.num_layers = check_int(num_layers, 'num_layers', minimum=0)
        if adj is not None and train_index is not None:
            raise ValueError(
                "Give at most one of 'adj' and 'train_index' (got both)"
            )
        if train_index is not None:
            train_index = check_user_item_index(
                train_index, 'train_index', self.num_users, self.num_items
            )
            adj = self.build_adjacency(train_index)
        if adj is not None:
            check_sparse_adjacency(adj, 'adj', self.num_nodes)
        self.register_buffer('adj', adj, persistent=False)
        self.embedding = torch.nn.Embedding(self.num_nodes, self.embedding_dim)

    def build_adjacency(self, train_index: Tensor) -> Tensor:
        r"""Builds the propagation matrix from validated interactions
        (the symmetric normalized adjacency unless overridden).
        """
        return normalized_adjacency(
            train_index,
            self.num_users,
            self.num_items,
            dtype=torch.get_default_dtype(),
        )

    @property
    def num_nodes(self) -> int:
        r"""The number of graph nodes :obj:`U + I`."""
        return self.num_users + self.num_items

    @property
    def out_channels(self) -> int:
        r"""The size of the combined user and item embeddings."""
        return self.embedding_dim

    def resolve_adjacency(self, adj: Optional[Tensor] = None) -> Tensor:
        r"""Returns :obj:`adj`, or the stored adjacency when :obj:`adj` is
        :obj:`None`, checked against the embedding table.
        """
        if adj is None:
            adj = self.adj
            if adj is None:
                raise ValueError(
                    f"{self.__class__.__name__} has no adjacency: pass 'adj' "
                    f"or build it with 'adj=' or 'train_index='"
                )
        else:
            check_sparse_adjacency(adj, 'adj', self.num_nodes)
        check_like(adj, 'adj', self.embedding.weight, 'the embeddings')
        return adj

    def layer_embeddings(self, adj: Optional[Tensor] = None) -> List[Tensor]:
        r"""Returns the embeddings of all nodes after each layer.

        Args:
            adj (torch.Tensor, optional): Overrides the stored adjacency.
                (default: :obj:`None`)

        Returns:
            List[torch.Tensor]: :obj:`K + 1` tensors of shape
            :obj:`[U + I, d_k]`; entry 0 is the ego embedding table.
        """
        raise NotImplementedError

    def combine_layers(self, layers: List[Tensor]) -> Tensor:
        r"""Combines the per-layer embeddings of :meth:`layer_embeddings`
        into the final ones, shape :obj:`[U + I, out_channels]`.
        """
        raise NotImplementedError

    def forward(self, adj: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        r"""Computes the final embeddings of all users and items from
        :meth:`layer_embeddings` (:obj:`adj` as there).

        Returns:
            (torch.Tensor, torch.Tensor): User embeddings of shape
            :obj:`[U, out_channels]` and item embeddings of shape
            :obj:`[I, out_channels]`.
        """
        out = self.combine_layers(self.layer_embeddings(adj))
        return out[: self.num_users], out[self.num_users :]

    def score(self, user_emb: Tensor, item_emb: Tensor) -> Tensor:
        r"""Inner-product scores of users against items.

        Item embeddings need not come from this encoder (synthesized
        negatives are scored the same way).

        Args:
            user_emb (torch.Tensor): Shape :obj:`[B, d]`.
            item_emb (torch.Tensor): Shape :obj:`[B, d]` (one item per user)
                or :obj:`[B, k, d]` (:obj:`k` items per user).

        Returns:
            torch.Tensor: Shape :obj:`[B]` or :obj:`[B, k]`.
        """
        if not isinstance(user_emb, Tensor) or not isinstance(
            item_emb, Tensor
        ):
            raise TypeError(
                f"'user_emb' and 'item_emb' must be tensors (got "
                f'{type(user_emb).__name__} and '
                f'{type(item_emb).__name__})'
            )
        if user_emb.dim() != 2:
            raise ValueError(
                f"'user_emb' must have shape [B, d] (got "
                f'{list(user_emb.shape)})'
            )
        if item_emb.dim() == 2 and item_emb.shape == user_emb.shape:
            return (user_emb * item_emb).sum(dim=-1)
        if (
            item_emb.dim() == 3
            and item_emb.size(0) == user_emb.size(0)
            and item_emb.size(2) == user_emb.size(1)
        ):
            return torch.bmm(item_emb, user_emb.unsqueeze(-1)).squeeze(-1)
        B, d = user_emb.shape
        raise ValueError(
            f"'item_emb' must have shape [{B}, {d}] or "
            f"[{B}, k, {d}] to match 'user_emb' (got "
            f'{list(item_emb.shape)})'
        )

    def reg_embeddings(
        self, users: Tensor, items: Tensor
    ) -> Tuple[Tensor, Tensor]:
        r"""Returns the ego (layer-0) embeddings of the given users and
        items, the usual target of the L2 regularization term in
        LightGCN / NGCF training.

        Ids are not range-checked here (a hot path; a check would synchronize
        the device); they must be valid user ids in :obj:`[0, U)` and item
        ids in :obj:`[0, I)`.

        Args:
            users (torch.Tensor): User ids of any shape :obj:`[*]`.
            items (torch.Tensor): Item ids of any shape :obj:`[*]` (e.g.
                :obj:`[B]` or :obj:`[B, k]`).

        Returns:
            (torch.Tensor, torch.Tensor): Shapes :obj:`[*, d]` each.
        """
        for name, ids in (('users', users), ('items', items)):
            if check_tensor(ids, name).dtype != torch.long:
                raise TypeError(
                    f"'{name}' must be a torch.long tensor (got {ids.dtype})"
                )
        weight = self.embedding.weight
        return weight[: self.num_users][users], weight[self.num_users :][items]

    def extra_repr_args(self) -> str:
        r"""Keyword arguments shown by :meth:`__repr__` after the common
        ones.
        """
        return ''

    def _repr_args(self) -> List[str]:
        return [
            str(self.num_users),
            str(self.num_items),
            f'embedding_dim={self.embedding_dim}',
            f'num_layers={self.num_layers}',
            self.extra_repr_args(),
        ]
