r"""Training of graph recommenders with swappable negative sampling: the
library behind the :obj:`negsamp-train` command.

The package is split by concern: :mod:`.config` (:class:`TrainConfig`, its
checks, :obj:`PRESETS`), :mod:`.factories` (datasets, encoders, losses and
strategies by name), :mod:`.strategies` (the negative strategies),
:mod:`.trainer` (the loop: :class:`Trainer`), :mod:`.checkpoint` (verified,
atomic checkpoints) and :mod:`.reporting` (progress, CSV / JSON, plots);
:mod:`.hard_strategies` (AHNS, DENS, SRNS), :mod:`.monitor` (diagnostics,
early stopping, TensorBoard of a run), :mod:`.plots` (the diagnostics and
comparison figures) and :mod:`.compare` (:obj:`negsamp-compare`).
"""

from torch_geometric_negsamp.train.checkpoint import CheckpointError
from torch_geometric_negsamp.train.config import PRESETS, TrainConfig
from torch_geometric_negsamp.train.factories import (
    DATASETS,
    ENCODERS,
    LOSSES,
    build_encoder,
    build_loss,
    build_strategy_from_config,
    load_split,
)
from torch_geometric_negsamp.train.strategies import (
    Context,
    Negatives,
    Strategy,
    build_strategy,
    strategy_names,
)
from torch_geometric_negsamp.train.trainer import Trainer, TrainResult

__all__ = [
    'TrainConfig',
    'Trainer',
    'TrainResult',
    'PRESETS',
    'CheckpointError',
    'DATASETS',
    'ENCODERS',
    'LOSSES',
    'load_split',
    'build_encoder',
    'build_loss',
    'build_strategy_from_config',
    'Strategy',
    'Negatives',
    'Context',
    'build_strategy',
    'strategy_names',
]
