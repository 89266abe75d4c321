r"""Loaders: a :class:`LinkNeighborLoader` with filtered, per-source
negatives. The neighbour samplers it runs on live in
:mod:`torch_geometric_negsamp.sampler`, beside PyG's own."""

from torch_geometric_negsamp.loader.link_neighbor_loader import (
    LinkNeighborLoader,
)

__all__ = ['LinkNeighborLoader']
