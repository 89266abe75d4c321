r"""k-hop regions by sparse matrix powers (the three-region principle)."""

from torch_geometric_negsamp.region.hybrid_row_set import HybridRowSet
from torch_geometric_negsamp.region.khop_region import KHopRegion

__all__ = ['HybridRowSet', 'KHopRegion']
