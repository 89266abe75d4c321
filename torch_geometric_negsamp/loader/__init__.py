r"""Loaders: a :class:`LinkNeighborLoader` with filtered, per-source
negatives, the neighbour samplers it runs on, and the hook behind it."""

from torch_geometric_negsamp.loader.link_neighbor_loader import (
    LinkNeighborLoader,
    has_compiled_backend,
)
from torch_geometric_negsamp.loader.seed_aware_mixin import (
    SeedAwareSamplerMixin,
)
from torch_geometric_negsamp.loader.seed_aware_neighbor_sampler import (
    SeedAwareNeighborSampler,
)
from torch_geometric_negsamp.loader.seed_aware_torch_neighbor_sampler import (
    SeedAwareTorchNeighborSampler,
)
from torch_geometric_negsamp.loader.torch_neighbor_sampler import (
    TorchNeighborSampler,
)

__all__ = [
    'LinkNeighborLoader',
    'TorchNeighborSampler',
    'SeedAwareSamplerMixin',
    'SeedAwareNeighborSampler',
    'SeedAwareTorchNeighborSampler',
    'has_compiled_backend',
]
