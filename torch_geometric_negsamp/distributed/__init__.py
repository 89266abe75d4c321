r"""Running on several processes: the process context, exact partitions of
an epoch's positives, an index sharded by source, and one index per host
shared by its ranks; link mini-batches split across ranks."""

from torch_geometric_negsamp.distributed.context import DistributedContext
from torch_geometric_negsamp.distributed.link_loader import (
    DistributedLinkNeighborLoader,
    shard_edge_label_index,
    shard_ids,
)
from torch_geometric_negsamp.distributed.partition import (
    batches,
    num_steps,
    shard,
)
from torch_geometric_negsamp.distributed.sharded_index import (
    ShardedPositiveIndex,
)
from torch_geometric_negsamp.distributed.shared import share_on_host

__all__ = [
    'DistributedContext',
    'ShardedPositiveIndex',
    'shard',
    'num_steps',
    'batches',
    'share_on_host',
    'DistributedLinkNeighborLoader',
    'shard_edge_label_index',
    'shard_ids',
]
