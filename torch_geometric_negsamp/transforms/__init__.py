r"""Transforms that add negatives the PyG way."""

from torch_geometric_negsamp.transforms.add_negative_samples import (
    AddNegativeSamples,
)

__all__ = ['AddNegativeSamples']
