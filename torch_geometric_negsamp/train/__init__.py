r"""Training of graph recommenders with swappable negative sampling: the
library behind the :obj:`negsamp-train` command."""

from torch_geometric_negsamp.train.strategies import (
    Context,
    Negatives,
    Strategy,
    build_strategy,
    strategy_names,
)
from torch_geometric_negsamp.train.trainer import (
    PRESETS,
    TrainConfig,
    Trainer,
    TrainResult,
    load_split,
)

__all__ = [
    'TrainConfig',
    'Trainer',
    'TrainResult',
    'PRESETS',
    'load_split',
    'Strategy',
    'Negatives',
    'Context',
    'build_strategy',
    'strategy_names',
]
