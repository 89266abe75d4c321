r"""The configuration of a training run: :class:`TrainConfig`, its checks
and the schedules (:obj:`PRESETS`)."""

import dataclasses
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch

from torch_geometric_negsamp._registry import normalize_name
from torch_geometric_negsamp._validate import (
    check_bool,
    check_choice,
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
    resolve_strategy_name,
)

#: Schedules: 'quick' fits the README's CPU run in minutes; 'paper' is the
#: LightGCN paper's setting (batch 2048, lr 1e-3, 1000 epochs).
PRESETS: Dict[str, Dict[str, object]] = {
    'quick': dict(batch_size=8192, lr=5e-3, epochs=20, eval_every=5),
    'paper': dict(batch_size=2048, lr=1e-3, epochs=1000, eval_every=20),
}

#: The size fields of the negative strategies, and the strategies that read
#: each one (every other strategy ignores it).
SIZE_FIELDS: Dict[str, Tuple[str, ...]] = {
    'candidates': ('dns', 'softmax', 'mixgcf'),
    'cache_size': ('cache',),
    'queue_size': ('queue',),
    'mixed_negatives': ('inbatch',),
}

#: Fields that change what is trained: a checkpoint resumes only when they
#: agree with the current configuration.
RESUME_KEYS = (
    'dataset',
    'data_root',
    'subset_users',
    'encoder',
    'sampler',
    'loss',
    'num_neg',
    'candidates',
    'cache_size',
    'queue_size',
    'mixed_negatives',
    'temperature',
    'alpha',
    'embedding_dim',
    'num_layers',
    'lr',
    'batch_size',
    'reg',
    'margin',
    'val_fraction',
    'seed',
)


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

    @property
    def strategy_key(self) -> str:
        r"""The normalised name of :obj:`sampler` (e.g. ``'in-batch'`` ->
        ``'inbatch'``)."""
        return normalize_name(self.sampler)

    def validate(self) -> 'TrainConfig':
        r"""Raises :class:`ValueError` (or :class:`TypeError` for a value of
        the wrong kind) naming the first invalid field; returns
        :obj:`self`."""
        DATASETS.get(self.dataset, 'dataset')
        if DATASETS.key(self.dataset) != 'gowalla' and not self.data_root:
            raise ValueError(
                f"'data_root' is needed for dataset {self.dataset!r} (a "
                f'folder with train.txt and test.txt)'
            )
        if self.data_root is not None and not isinstance(self.data_root, str):
            raise TypeError(
                f"'data_root' must be a str or None (got "
                f'{type(self.data_root).__name__})'
            )
        ENCODERS.get(self.encoder, 'encoder')
        resolve_strategy_name(self.sampler)
        LOSSES.get(self.loss, 'loss')
        for name in (
            'num_neg',
            'candidates',
            'cache_size',
            'queue_size',
            'embedding_dim',
            'batch_size',
            'epochs',
            'eval_every',
            'k',
            'eval_batch_size',
        ):
            check_positive_int(getattr(self, name), name)
        check_int(self.mixed_negatives, 'mixed_negatives', minimum=0)
        check_int(self.num_layers, 'num_layers', minimum=0)
        if self.subset_users is not None:
            check_positive_int(self.subset_users, 'subset_users')
        if (
            self.strategy_key in ('dns', 'softmax')
            and self.candidates < self.num_neg
        ):
            raise ValueError(
                f"'candidates' ({self.candidates}) must be at least "
                f"'num_neg' ({self.num_neg}): {self.strategy_key} picks "
                f'num_neg of the candidates'
            )
        for name in ('lr', 'temperature', 'margin'):
            check_positive_real(getattr(self, name), name)
        for name in ('reg', 'alpha'):
            check_real(getattr(self, name), name, minimum=0.0)
        check_probability(self.val_fraction, 'val_fraction', allow_one=False)
        check_choice(self.select_on, 'select_on', ('val', 'test'))
        if self.select_on == 'val' and self.val_fraction == 0:
            raise ValueError(
                "'select_on=val' needs a validation split: set "
                "'val_fraction' > 0, or select on the test split explicitly "
                "('select_on=test')"
            )
        check_seed(self.seed)
        if not isinstance(self.out_dir, str) or not self.out_dir:
            raise TypeError(
                f"'out_dir' must be a non-empty str (got {self.out_dir!r})"
            )
        for name in ('resume', 'progress', 'plot'):
            check_bool(getattr(self, name), name)
        if self.max_minutes is not None:
            check_positive_real(self.max_minutes, 'max_minutes')
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
            for name, users in SIZE_FIELDS.items()
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
        negative embeddings of a step ``[B, k, D]``, the scored candidate
        embeddings ``[B, M, D]`` (``[B, k, M, D]`` for MixGCF), the caches
        ``[U, N]``, the in-batch and queue scores, the layer embeddings
        ``[U + I, L + 1, D]`` and the evaluation scores ``[b, I]``.
        """
        B, D = min(self.batch_size, max(num_train, 1)), self.embedding_dim
        k, M, key = self.num_neg, self.candidates, self.strategy_key
        L1, N = self.num_layers + 1, num_users + num_items
        # (field, entries, bytes per entry, what):
        checks = [
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
