r"""Drop-in replacements for the negative sampling functions of
:mod:`torch_geometric.utils` (exact, the count asked for, bounded)."""

from torch_geometric_negsamp.utils.negative_sampling import (
    batched_negative_sampling,
    negative_sampling,
    structured_negative_sampling,
    structured_negative_sampling_feasible,
)

__all__ = [
    'negative_sampling',
    'batched_negative_sampling',
    'structured_negative_sampling',
    'structured_negative_sampling_feasible',
]
