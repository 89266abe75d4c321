r"""Exact, fast and swappable negative sampling for PyTorch Geometric."""

# The subpackages, as PyG exposes its own (this also registers the
# 'negsamp_*' functional transforms):
from torch_geometric_negsamp import (  # noqa: E402
    datasets,
    distributed,
    kg,
    loader,
    losses,
    metrics,
    nn,
    region,
    select,
    train,
    transforms,
    utils,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.sampler import (
    NegativeSampler,
    PopularitySampler,
    RegionSampler,
    UniformSampler,
    UnsatisfiableError,
    register_sampler,
    resolve_sampler,
)
from torch_geometric_negsamp.utils import (
    batched_negative_sampling,
    negative_sampling,
    structured_negative_sampling,
    structured_negative_sampling_feasible,
)

__version__ = '0.1.0'

__all__ = [
    'PositiveIndex',
    'NegativeSampler',
    'UnsatisfiableError',
    'UniformSampler',
    'PopularitySampler',
    'RegionSampler',
    'register_sampler',
    'resolve_sampler',
    'utils',
    'negative_sampling',
    'structured_negative_sampling',
    'structured_negative_sampling_feasible',
    'batched_negative_sampling',
    'datasets',
    'distributed',
    'kg',
    'loader',
    'losses',
    'metrics',
    'nn',
    'region',
    'select',
    'train',
    'transforms',
    '__version__',
]
