r"""Model-aware selectors: pick or synthesise hard negatives from a pool of
candidates, given the current model's embeddings or scores. Every selector
is a :class:`Selector` (a :class:`torch.nn.Module` that owns its state);
:class:`HardnessSchedule` warms the hardness of a selection up."""

from torch_geometric_negsamp.select.ahns import AHNS
from torch_geometric_negsamp.select.dens import DENS
from torch_geometric_negsamp.select.dns import DNS
from torch_geometric_negsamp.select.hardness_schedule import HardnessSchedule
from torch_geometric_negsamp.select.in_batch import (
    InBatchNegatives,
    InBatchOutput,
    item_log_frequency,
)
from torch_geometric_negsamp.select.mcns import MCNS
from torch_geometric_negsamp.select.memory_queue import MemoryQueue
from torch_geometric_negsamp.select.mixgcf import MixGCF
from torch_geometric_negsamp.select.negative_cache import NegativeCache
from torch_geometric_negsamp.select.recns import (
    RecNS,
    RecNSOutput,
    recns_merge,
)
from torch_geometric_negsamp.select.recns_o import RecNSO
from torch_geometric_negsamp.select.recns_w import RecNSW, overlap_beta
from torch_geometric_negsamp.select.selector import Selector
from torch_geometric_negsamp.select.softmax import (
    SoftmaxSelector,
    self_adversarial_weights,
)
from torch_geometric_negsamp.select.srns import SRNS

__all__ = [
    'Selector',
    'DNS',
    'SoftmaxSelector',
    'self_adversarial_weights',
    'MixGCF',
    'InBatchNegatives',
    'InBatchOutput',
    'item_log_frequency',
    'NegativeCache',
    'MemoryQueue',
    'RecNSO',
    'RecNSW',
    'overlap_beta',
    'RecNS',
    'RecNSOutput',
    'recns_merge',
    'MCNS',
    'AHNS',
    'DENS',
    'SRNS',
    'HardnessSchedule',
]
