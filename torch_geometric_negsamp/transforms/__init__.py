r"""Transforms that add negatives the PyG way."""

from torch_geometric_negsamp.transforms.add_khop_region import AddKHopRegion
from torch_geometric_negsamp.transforms.add_negative_samples import (
    AddNegativeSamples,
)

__all__ = ['AddKHopRegion', 'AddNegativeSamples']
