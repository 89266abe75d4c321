r"""Samplers, beside PyG's own in :mod:`torch_geometric.sampler`:

* the negative samplers (:class:`NegativeSampler` and its registered
  subclasses :class:`UniformSampler`, :class:`PopularitySampler`, with
  :class:`WeightedSampler` for any weight), filtered and exact, as
  :class:`torch_geometric.sampler.NegativeSampling` subclasses, with their
  registry (:obj:`SAMPLERS`, :func:`register_sampler`,
  :func:`resolve_sampler`);
* the neighbour samplers: :class:`TorchNeighborSampler` (pure PyTorch),
  and :class:`SeedAwareNeighborSampler` /
  :class:`SeedAwareTorchNeighborSampler` (through
  :class:`SeedAwareSamplerMixin`), which hand a negative sampler the
  positives of each mini-batch;
* the choice of the neighbour-sampling backend per request
  (:func:`neighbor_backend`).
"""

from torch_geometric_negsamp.sampler.base import (
    NegativeSampler,
    UnsatisfiableError,
)
from torch_geometric_negsamp.sampler.neighbor_backend import neighbor_backend
from torch_geometric_negsamp.sampler.popularity import PopularitySampler
from torch_geometric_negsamp.sampler.region import RegionSampler
from torch_geometric_negsamp.sampler.registry import (
    SAMPLERS,
    register_sampler,
    resolve_sampler,
)
from torch_geometric_negsamp.sampler.seed_aware_mixin import (
    SeedAwareSamplerMixin,
)
from torch_geometric_negsamp.sampler.seed_aware_neighbor_sampler import (
    SeedAwareNeighborSampler,
)
from torch_geometric_negsamp.sampler.seed_aware_torch_neighbor_sampler import (
    SeedAwareTorchNeighborSampler,
)
from torch_geometric_negsamp.sampler.torch_neighbor_sampler import (
    TorchNeighborSampler,
)
from torch_geometric_negsamp.sampler.uniform import UniformSampler
from torch_geometric_negsamp.sampler.weighted import WeightedSampler

register_sampler('uniform')(UniformSampler)
register_sampler('popularity')(PopularitySampler)
register_sampler('region')(RegionSampler)

__all__ = [
    'NegativeSampler',
    'UnsatisfiableError',
    'UniformSampler',
    'WeightedSampler',
    'PopularitySampler',
    'RegionSampler',
    'SAMPLERS',
    'register_sampler',
    'resolve_sampler',
    'TorchNeighborSampler',
    'SeedAwareSamplerMixin',
    'SeedAwareNeighborSampler',
    'SeedAwareTorchNeighborSampler',
    'neighbor_backend',
]
