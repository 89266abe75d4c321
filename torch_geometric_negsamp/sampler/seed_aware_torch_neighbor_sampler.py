r"""Seed-aware negative sampling on the pure-PyTorch neighbour sampler."""

from torch_geometric_negsamp.sampler.seed_aware_mixin import (
    SeedAwareSamplerMixin,
)
from torch_geometric_negsamp.sampler.torch_neighbor_sampler import (
    TorchNeighborSampler,
)


class SeedAwareTorchNeighborSampler(
    SeedAwareSamplerMixin, TorchNeighborSampler
):
    r"""The pure-PyTorch
    :class:`~torch_geometric_negsamp.sampler.TorchNeighborSampler` (neighbour
    sampling of Hamilton et al., 2017, "Inductive Representation Learning on
    Large Graphs") whose :meth:`sample_from_edges` draws the negatives of a
    :class:`~torch_geometric_negsamp.sampler.NegativeSampler` from the
    positives of the mini-batch, filtered against the known positives (see
    :class:`~torch_geometric_negsamp.sampler.SeedAwareSamplerMixin`).

    Takes the arguments of
    :class:`~torch_geometric_negsamp.sampler.TorchNeighborSampler`.
    :class:`~torch_geometric_negsamp.loader.LinkNeighborLoader` uses it for
    the requests that no installed compiled backend supports (all of them
    without :obj:`pyg-lib` and :obj:`torch-sparse`; :obj:`disjoint` ones with
    :obj:`torch-sparse` alone; see
    :func:`~torch_geometric_negsamp.sampler.neighbor_backend`); it can also
    be passed as :obj:`neighbor_sampler=` to PyG's own
    :class:`~torch_geometric.loader.LinkNeighborLoader`.

    Example:
        >>> sampler = SeedAwareTorchNeighborSampler(data, [10, 5])
        >>> loader = torch_geometric.loader.LinkNeighborLoader(
        ...     data, [10, 5], neighbor_sampler=sampler, batch_size=256,
        ...     neg_sampling=UniformSampler(amount=4).fit(data))
    """
