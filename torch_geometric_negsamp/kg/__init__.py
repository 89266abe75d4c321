r"""Knowledge-graph negative sampling by triple corruption: a negative of
:math:`(h, r, t)` replaces its head or its tail, filtered against the known
triples, shaped as PyKEEN's negative samplers are (one batch of positive
triples in, ``[B, k]`` corruptions out)."""

from torch_geometric_negsamp.kg.base import TripleCorruption
from torch_geometric_negsamp.kg.bernoulli import BernoulliCorruption
from torch_geometric_negsamp.kg.corrupted_triples import CorruptedTriples
from torch_geometric_negsamp.kg.registry import (
    CORRUPTIONS,
    register_corruption,
    resolve_corruption,
)
from torch_geometric_negsamp.kg.sans import SANSCorruption
from torch_geometric_negsamp.kg.uniform import UniformCorruption

register_corruption('uniform')(UniformCorruption)
register_corruption('bernoulli')(BernoulliCorruption)
register_corruption('sans')(SANSCorruption)

__all__ = [
    'TripleCorruption',
    'CorruptedTriples',
    'UniformCorruption',
    'BernoulliCorruption',
    'SANSCorruption',
    'CORRUPTIONS',
    'register_corruption',
    'resolve_corruption',
]
