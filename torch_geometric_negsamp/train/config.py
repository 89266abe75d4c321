r"""The configuration of a training run: :class:`TrainConfig`, its checks
and the schedules (:obj:`PRESETS`)."""

import dataclasses
import os
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

from torch_geometric_negsamp._validate import (
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_positive_int,
    check_positive_real,
    check_probability,
    check_real,
    check_request_size,
    check_seed,
)
from torch_geometric_negsamp.train.factories import (
    DATASETS,
    ENCODERS,
    LOSSES,
)
from torch_geometric_negsamp.train.strategies import resolve_strategy_name

#: Schedules: 'quick' fits the README's CPU run in minutes; 'paper' is the
#: LightGCN paper's setting (batch 2048, lr 1e-3, 1000 epochs).
PRESETS: Dict[str, Dict[str, object]] = {
    'quick': dict(batch_size=8192, lr=5e-3, epochs=20, eval_every=5),
    'paper': dict(batch_size=2048, lr=1e-3, epochs=1000, eval_every=20),
}
#: The long schedule stops early: 10 evaluations (200 epochs) without a
#: better validation Recall (see ``docs/training.md``).
PRESETS['paper']['patience'] = 10

#: A field check: ``(value, name) -> checked value``, raising otherwise.
Check = Callable[[Any, str], Any]

#: The size fields of the negative strategies, and the strategies that read
#: each one (every other strategy ignores it).
SIZE_FIELDS: Dict[str, Tuple[str, ...]] = {
    'candidates': ('dns', 'softmax', 'mixgcf'),
    'cache_size': ('cache',),
    'queue_size': ('queue',),
    'mixed_negatives': ('inbatch',),
}
# The hardness-controlling strategies (hard_strategies.py):
SIZE_FIELDS['candidates'] += ('ahns', 'dens', 'srns')
#: The strategies that read :obj:`warmup_epochs` (an error for others).
WARMUP_STRATEGIES = ('dns', 'softmax', 'dens', 'srns')


def _optional(check: Check) -> Check:
    def run(value, name):
        return None if value is None else check(value, name)

    return run


def _folder(value, name) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"'{name}' must be a non-empty str (got {value!r})")
    return value


#: The check of every field, in the order :meth:`TrainConfig.validate`
#: runs them (:obj:`device` is checked by
#: :meth:`TrainConfig.resolve_device`, the fields together after these).
_CHECKS: Dict[str, Check] = {
    'dataset': DATASETS.get,
    'data_root': partial(check_instance, cls=str, optional=True),
    'subset_users': _optional(check_positive_int),
    'encoder': ENCODERS.get,
    'sampler': resolve_strategy_name,
    'loss': LOSSES.get,
    'num_neg': check_positive_int,
    'candidates': check_positive_int,
    'cache_size': check_positive_int,
    'queue_size': check_positive_int,
    'mixed_negatives': partial(check_int, minimum=0),
    'temperature': check_positive_real,
    'loss_temperature': _optional(check_positive_real),
    'alpha': partial(check_real, minimum=0.0),
    'embedding_dim': check_positive_int,
    'num_layers': partial(check_int, minimum=0),
    'lr': check_positive_real,
    'batch_size': check_positive_int,
    'reg': partial(check_real, minimum=0.0),
    'margin': check_positive_real,
    'epochs': check_positive_int,
    'eval_every': check_positive_int,
    'k': check_positive_int,
    'eval_batch_size': check_positive_int,
    'val_fraction': partial(check_probability, allow_one=False),
    'select_on': partial(check_choice, choices=('val', 'test')),
    'seed': check_seed,
    'out_dir': _folder,
    'resume': check_bool,
    'progress': check_bool,
    'max_minutes': _optional(check_positive_real),
    'plot': check_bool,
    # The region samplers (region, recns, mcns):
    'khop': lambda value, name: _odd_hops(value, name, 1),
    'adjacent_hops': lambda value, name: _odd_hops(value, name, 1),
    'distant_share': check_probability,
    'region_budget': _optional(check_positive_int),
    'exposure': _optional(lambda value, name: _exposure_file(value, name)),
    'simulate_exposure': _optional(check_positive_int),
    # Hardness warm-up, early stopping, TensorBoard:
    'warmup_epochs': _optional(partial(check_int, minimum=0)),
    'patience': _optional(partial(check_int, minimum=0)),
    'tensorboard': _optional(_folder),
}


@dataclass
class TrainConfig:
    r"""Everything a training run depends on (see :obj:`negsamp-train
    --help` and ``docs/training.md`` for each field).

    The four sizes of the negative strategies each have one meaning:
    :obj:`candidates` is the candidate pool :math:`M` per negative of
    :obj:`dns`, :obj:`softmax` and :obj:`mixgcf`; :obj:`cache_size` the
    per-user cache of :obj:`cache` (NSCaching); :obj:`queue_size` the queue
    of :obj:`queue` (MoCo); :obj:`mixed_negatives` the uniform items mixed
    into the batch's negatives by :obj:`inbatch` (0: none).
    """

    dataset: str = 'gowalla'
    data_root: Optional[str] = None
    subset_users: Optional[int] = None
    encoder: str = 'lightgcn'
    sampler: str = 'uniform'
    loss: str = 'bpr'
    num_neg: int = 1
    candidates: int = 32
    cache_size: int = 32
    queue_size: int = 32
    mixed_negatives: int = 32
    temperature: float = 1.0
    #: The sampled-softmax loss's temperature; :obj:`None`: :obj:`temperature`.
    loss_temperature: Optional[float] = None
    alpha: float = 0.75
    embedding_dim: int = 64
    num_layers: int = 3
    lr: float = 5e-3
    batch_size: int = 8192
    reg: float = 1e-4
    margin: float = 1.0
    epochs: int = 20
    eval_every: int = 5
    k: int = 20
    eval_batch_size: int = 1024
    val_fraction: float = 0.1
    select_on: str = 'val'
    device: str = 'auto'
    seed: int = 0
    out_dir: str = 'runs/default'
    resume: bool = False
    progress: bool = True
    max_minutes: Optional[float] = None
    plot: bool = True
    # The region samplers (region, recns, mcns):
    khop: int = 3
    adjacent_hops: int = 1
    distant_share: float = 0.0
    region_budget: Optional[int] = None
    exposure: Optional[str] = None
    simulate_exposure: Optional[int] = None
    warmup_epochs: Optional[int] = None
    patience: Optional[int] = None
    tensorboard: Optional[str] = None

    @property
    def softmax_loss_temperature(self) -> float:
        r"""The temperature of the sampled-softmax loss:
        :obj:`loss_temperature`, or :obj:`temperature` when that is
        :obj:`None`."""
        if self.loss_temperature is None:
            return self.temperature
        return self.loss_temperature

    @property
    def strategy_key(self) -> str:
        r"""The registered name :obj:`sampler` stands for (e.g.
        ``'in-batch'`` -> ``'inbatch'``)."""
        return resolve_strategy_name(self.sampler)

    def validate(self) -> 'TrainConfig':
        r"""Raises :class:`ValueError` (or :class:`TypeError` for a value of
        the wrong kind) naming the first invalid field; returns
        :obj:`self`."""
        for name, check in _CHECKS.items():
            check(getattr(self, name), name)
        if DATASETS.key(self.dataset) != 'gowalla' and not self.data_root:
            raise ValueError(
                f"'data_root' is needed for dataset {self.dataset!r} (a "
                f'folder with train.txt and test.txt)'
            )
        if (
            self.strategy_key in ('dns', 'softmax', 'ahns', 'srns')
            and self.candidates < self.num_neg
        ):
            raise ValueError(
                f"'candidates' ({self.candidates}) must be at least "
                f"'num_neg' ({self.num_neg}): {self.strategy_key} picks "
                f'num_neg of the candidates'
            )
        if (
            self.warmup_epochs is not None
            and self.strategy_key not in WARMUP_STRATEGIES
        ):
            raise ValueError(
                f"'warmup_epochs' is read by the samplers "
                f'{", ".join(WARMUP_STRATEGIES)} only (got '
                f'{self.warmup_epochs} with sampler {self.sampler!r})'
            )
        if self.tensorboard is not None:
            check_tensorboard()
        if self.select_on == 'val' and self.val_fraction == 0:
            raise ValueError(
                "'select_on=val' needs a validation split: set "
                "'val_fraction' > 0, or select on the test split explicitly "
                "('select_on=test')"
            )
        for joint in _JOINT_CHECKS:
            joint(self)
        self.resolve_device()
        return self

    def resolve_device(self) -> torch.device:
        r"""The device to train on (:obj:`'auto'`: CUDA when available)."""
        if self.device == 'auto':
            return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
        if not isinstance(self.device, str):
            raise TypeError(
                f"'device' must be a str (got {type(self.device).__name__})"
            )
        try:
            device = torch.device(self.device)
        except RuntimeError as e:
            raise ValueError(
                f"'device' is not a device: {self.device!r} ({e})"
            ) from None
        if device.type == 'cuda' and not torch.cuda.is_available():
            raise ValueError(
                f"'device' is {self.device!r} but CUDA is not available"
            )
        return device

    def unused_sizes(self) -> Dict[str, int]:
        r"""The size fields that differ from their default although the
        configured sampler does not read them (a likely mix-up)."""
        defaults = TrainConfig()
        return {
            name: getattr(self, name)
            for name, users in {**SIZE_FIELDS, **REGION_FIELDS}.items()
            if self.strategy_key not in users
            and getattr(self, name) != getattr(defaults, name)
        }

    def check_fits(
        self,
        num_users: int,
        num_items: int,
        num_train: int,
        device: torch.device,
    ) -> None:
        r"""Refuses, before anything is allocated, a configuration whose
        largest tensors would not fit in the memory of :obj:`device`
        (e.g. :obj:`num_neg=10**9`), naming the field and the bytes it
        would need.

        The sizes are those of the largest tensor each field makes: the
        embedding table ``[U + I, D]``, the negative embeddings of a step
        ``[B, k, D]``, the scored candidate embeddings ``[B, M, D]``
        (``[B, k, M, D]`` for MixGCF), the caches ``[U, N]``, the in-batch
        and queue scores, the layer embeddings
        ``[U + I, L + 1, D]`` and the evaluation scores ``[b, I]``.
        """
        B, D = min(self.batch_size, max(num_train, 1)), self.embedding_dim
        k, M, key = self.num_neg, self.candidates, self.strategy_key
        L1, N = self.num_layers + 1, num_users + num_items
        # (field, entries, bytes per entry, what):
        checks = [
            ('embedding_dim', N * D, 4, 'the embedding table'),
            ('embedding_dim', N * L1 * D, 4, 'the layer embeddings'),
            ('num_neg', B * k * D, 4, 'the negative embeddings of a step'),
        ]
        if key in ('dns', 'softmax'):
            checks.append(
                ('candidates', B * M * D, 4, 'the candidate embeddings')
            )
        elif key == 'mixgcf':
            checks.append(
                ('candidates', B * k * M * D, 4, 'the candidate embeddings')
            )
        elif key == 'cache':
            checks.append(
                ('cache_size', num_users * self.cache_size, 8, 'the caches')
            )
            checks.append(
                ('cache_size', B * 2 * self.cache_size * D, 4, 'the scores')
            )
        elif key == 'inbatch':
            name = (
                'mixed_negatives' if self.mixed_negatives > B else 'batch_size'
            )
            checks.append(
                (name, B * (B + self.mixed_negatives), 4, 'the scores')
            )
        elif key == 'queue':
            checks.append(('queue_size', B * self.queue_size, 4, 'the scores'))
        elif key in ('ahns', 'srns'):
            checks.append(
                ('candidates', B * M * D, 4, 'the candidate embeddings')
            )
        elif key == 'dens':
            checks.append(
                ('candidates', B * k * M * L1 * D, 4, 'the candidate layers')
            )
        checks.extend(_region_requests(self, B, D))
        checks.append(
            (
                'eval_batch_size',
                min(self.eval_batch_size, num_users) * num_items,
                4,
                'the evaluation scores',
            )
        )
        for name, entries, size, what in checks:
            check_request_size(
                entries,
                name,
                element_size=size,
                device=device,
                what=f'{what} ({name}={getattr(self, name)})',
            )

    def to_dict(self) -> Dict[str, object]:
        return dataclasses.asdict(self)


#: Fields that change nothing of what is trained (how long, how it is
#: evaluated and reported, where it runs): a checkpoint resumes whatever
#: they are.
_RUN_FIELDS = (
    'epochs',
    'eval_every',
    'k',
    'eval_batch_size',
    'select_on',
    'device',
    'out_dir',
    'resume',
    'progress',
    'max_minutes',
    'plot',
    'patience',
    'tensorboard',
)

#: Fields that change what is trained: a checkpoint resumes only when they
#: agree with the current configuration.
RESUME_KEYS = tuple(
    f.name
    for f in dataclasses.fields(TrainConfig)
    if f.name not in _RUN_FIELDS
)


def check_tensorboard() -> None:
    r"""Raises :class:`ImportError` with the install command when the
    optional :obj:`tensorboard` package (behind :obj:`--tensorboard`) is
    missing."""
    import importlib.util

    if importlib.util.find_spec('tensorboard') is None:
        raise ImportError(
            "'tensorboard' (--tensorboard) needs the tensorboard package: "
            "pip install 'torch_geometric_negsamp[tensorboard]'"
        )


def preset_values(preset: str, device: str = 'auto') -> Dict[str, object]:
    r"""The fields of schedule :obj:`preset` (:obj:`'auto'`: :obj:`'paper'`
    on CUDA, :obj:`'quick'` otherwise)."""
    check_choice(preset, 'preset', ['auto', *PRESETS])
    if preset == 'auto':
        cuda = device.startswith('cuda') or (
            device == 'auto' and torch.cuda.is_available()
        )
        preset = 'paper' if cuda else 'quick'
    return dict(PRESETS[preset])


# ------------------------------------------------ region samplers (issue 9)
SIZE_FIELDS['candidates'] = (*SIZE_FIELDS['candidates'], 'recns')

_ON_REGIONS = ('region', 'recns', 'mcns')
#: The fields of the samplers on k-hop regions, and the strategies that read
#: each one (:meth:`TrainConfig.unused_sizes` names them too).
REGION_FIELDS: Dict[str, Tuple[str, ...]] = {
    'khop': _ON_REGIONS,
    'adjacent_hops': _ON_REGIONS,
    'distant_share': ('region', 'recns'),
    'region_budget': _ON_REGIONS,
    'exposure': ('recns',),
    'simulate_exposure': ('recns',),
}


def _region_requests(config: TrainConfig, B: int, D: int) -> List[tuple]:
    r"""The largest tensors of a step of the strategies on regions, as
    :meth:`TrainConfig.check_fits` lists them (the region build itself is
    bounded by :obj:`region_budget`)."""
    if config.strategy_key == 'recns':
        M = config.candidates
        return [('candidates', B * M * D, 4, 'the candidate embeddings')]
    return []


def _odd_hops(value, name: str, minimum: int) -> int:
    r"""A hop count of the bipartite user-item graph: an odd int of at
    least :obj:`minimum` (a walk from a user reaches items after an odd
    number of edges)."""
    value = check_int(value, name, minimum=minimum)
    if value % 2 == 0:
        flag = '--' + name.replace('_', '-')
        raise ValueError(
            f"'{name}' ({flag}) must be odd: a walk from a user reaches "
            f'items after an odd number of edges (got {value})'
        )
    return value


def _exposure_file(value, name: str) -> str:
    path = _folder(value, name)
    if not (os.path.isfile(path) or os.path.isfile(path + '.gz')):
        raise ValueError(
            f"'{name}' (--exposure) must name an exposure file in the "
            f'LightGCN format (got {path!r}, which does not exist)'
        )
    return path


def _check_hop_order(config: TrainConfig) -> None:
    if config.adjacent_hops >= config.khop:
        raise ValueError(
            f"'adjacent_hops' (--adjacent-hops) must be smaller than "
            f"'khop' (--khop): the intermediate region lies between them "
            f'(got adjacent_hops={config.adjacent_hops}, '
            f'khop={config.khop})'
        )


def _check_exposure(config: TrainConfig) -> None:
    if config.exposure is not None and config.simulate_exposure is not None:
        raise ValueError(
            "give 'exposure' (--exposure) or 'simulate_exposure' "
            f'(--simulate-exposure), not both (got {config.exposure!r} and '
            f'{config.simulate_exposure})'
        )
    if config.exposure is not None and config.subset_users is not None:
        raise ValueError(
            "'exposure' (--exposure) holds the ids of the whole dataset, "
            "but 'subset_users' renumbers the users and items (got "
            f'subset_users={config.subset_users}); drop one of them'
        )


#: The checks of several fields together, run by
#: :meth:`TrainConfig.validate` in this order after the field checks.
_JOINT_CHECKS: List[Callable[[TrainConfig], None]] = [
    _check_hop_order,
    _check_exposure,
]
