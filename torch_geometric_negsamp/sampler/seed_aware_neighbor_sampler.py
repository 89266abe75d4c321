r"""Seed-aware negative sampling on PyG's compiled neighbour sampler."""

from torch_geometric.sampler import NeighborSampler

from torch_geometric_negsamp.sampler.seed_aware_mixin import (
    SeedAwareSamplerMixin,
)
from torch_geometric_negsamp.sampler.torch_neighbor_sampler import (
    TorchNeighborSampler,
)


class SeedAwareNeighborSampler(SeedAwareSamplerMixin, NeighborSampler):
    r"""PyG's :class:`torch_geometric.sampler.NeighborSampler` (neighbour
    sampling of Hamilton et al., 2017, "Inductive Representation Learning on
    Large Graphs", through :obj:`pyg-lib` or :obj:`torch-sparse`) whose
    :meth:`sample_from_edges` draws the negatives of a
    :class:`~torch_geometric_negsamp.sampler.NegativeSampler` from the
    positives of the mini-batch, filtered against the known positives (see
    :class:`~torch_geometric_negsamp.sampler.SeedAwareSamplerMixin`).

    Takes the arguments of :class:`~torch_geometric.sampler.NeighborSampler`.
    :class:`~torch_geometric_negsamp.loader.LinkNeighborLoader` uses it for
    the requests that an installed compiled backend supports, and
    :class:`~torch_geometric_negsamp.sampler.SeedAwareTorchNeighborSampler`
    for the others (see
    :func:`~torch_geometric_negsamp.sampler.neighbor_backend`).

    Example:
        >>> sampler = SeedAwareNeighborSampler(data, [10, 5])
        >>> loader = torch_geometric.loader.LinkNeighborLoader(
        ...     data, [10, 5], neighbor_sampler=sampler, batch_size=256,
        ...     neg_sampling=UniformSampler(amount=4).fit(data))
    """

    # The same key arguments as the pure-PyTorch sampler shows.
    __repr__ = TorchNeighborSampler.__repr__
