r"""Several negative samplers at an equal budget on one split and seed:
:func:`compare_samplers` and its :class:`Comparison`, behind the
:obj:`negsamp-compare` command."""

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_float_tensor,
    check_instance,
    check_int,
    check_positive_int,
    check_real,
    check_same_shape,
    check_seed,
)
from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.train import plots, reporting
from torch_geometric_negsamp.train.config import (
    WARMUP_STRATEGIES,
    TrainConfig,
)
from torch_geometric_negsamp.train.diagnostics import DIAGNOSTIC_KEYS
from torch_geometric_negsamp.train.factories import load_split
from torch_geometric_negsamp.train.strategies import resolve_strategy_name

Value = Optional[Union[float, int, str]]

#: Short headers of the printed table.
_HEADERS = {
    'sampler': 'sampler',
    'epoch': 'best epoch',
    'train_seconds': 's to best',
    'total_seconds': 's total',
    'stop_epoch': 'stopped',
    'stop_reason': 'why',
    'vs_uniform': 'vs uniform',
    'vs_uniform_low': '95% from',
    'vs_uniform_high': '95% to',
    'above_uniform': 'above uniform',
    'neg_false_negative_rate': 'false neg',
    'neg_hardness': 'hardness',
    'neg_popularity_ratio': 'pop ratio',
    'neg_short_rows': 'short',
    'neg_sampling_share': 'sampling',
}


@dataclass
class Comparison:
    r"""The outcome of :func:`compare_samplers`: one row per sampler (the
    selected evaluation of its run, with the diagnostics of that epoch, how
    long it trained and why it stopped), the evaluation history of every
    run, and where the files are."""

    rows: List[Dict[str, Value]] = field(default_factory=list)
    histories: Dict[str, List[Dict[str, Value]]] = field(default_factory=dict)
    columns: List[str] = field(default_factory=list)
    selected_on: str = 'val'
    k: int = 20
    out_dir: str = ''

    @property
    def selection_key(self) -> str:
        return f'{self.selected_on}_recall@{self.k}'

    def table(self) -> str:
        r"""The rows as a text table (``-``: not measured)."""

        def cell(column: str, value: Value) -> str:
            if value is None:
                return '-'
            if column.startswith('vs_uniform'):
                return f'{value:+.1%}'
            if isinstance(value, float):
                return f'{value:.1f}' if abs(value) >= 100 else f'{value:.4f}'
            return str(value)

        shown = [c for c in self.columns if c != 'neg_false_negative_split']
        header = [_HEADERS.get(c, c) for c in shown]
        body = [[cell(c, row.get(c)) for c in shown] for row in self.rows]
        widths = [
            max(len(line[i]) for line in [header, *body])
            for i in range(len(shown))
        ]
        lines = [
            '  '.join(text.ljust(w) for text, w in zip(line, widths))
            for line in [header, *body]
        ]
        lines.insert(1, '  '.join('-' * w for w in widths))
        return '\n'.join(lines)


def paired_gain(
    values: Tensor,
    reference: Tensor,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Tuple[float, float, float]:
    r"""The relative gain :math:`\bar{x} / \bar{r} - 1` of a model's
    per-user metric :obj:`values` over another's, :obj:`reference`, on the
    same users (entry :math:`j` of both belongs to the same user), with a
    paired bootstrap interval: :obj:`resamples` times the users are drawn
    with replacement, the same draw for both models, and the interval holds
    the central :obj:`level` share of the resampled gains (infinite when
    enough resamples leave the reference at zero). Paired, because most of
    a Recall's spread comes from which users are easy, and both models share
    them.

    Returns:
        tuple: :obj:`(gain, low, high)`.

    Raises:
        TypeError, ValueError: Unless :obj:`values` and :obj:`reference` are
            finite floating-point vectors of one non-zero length with
            :obj:`reference` of positive mean, :obj:`resamples` an int in
            :math:`[1, 10^6]`, :obj:`level` in :math:`(0, 1)` and
            :obj:`seed` a seed.
    """
    check_float_tensor(values, 'values', dim=1)
    check_float_tensor(reference, 'reference', dim=1)
    check_same_shape(values, 'values', reference, 'reference')
    if values.numel() == 0:
        raise ValueError("'values' must hold at least one user (got none)")
    if not float(reference.mean()) > 0:
        raise ValueError(
            f"'reference' must have a positive mean (got "
            f'{float(reference.mean()):g})'
        )
    # (torch.quantile takes at most 2**24 values.)
    resamples = check_int(resamples, 'resamples', minimum=1, maximum=10**6)
    level = check_real(
        level, 'level', minimum=0, maximum=1, open_min=True, open_max=True
    )
    gen = torch.Generator().manual_seed(check_seed(seed))
    values, reference = values.double().cpu(), reference.double().cpu()
    n = values.numel()
    gains = []
    step = max(1, (1 << 22) // n)  # resamples per draw: bounded memory
    for start in range(0, resamples, step):
        rows = torch.randint(
            n, (min(step, resamples - start), n), generator=gen
        )
        gains.append(values[rows].mean(1) / reference[rows].mean(1) - 1)
    tail = (1 - level) / 2
    # A resample whose users all score 0 under both models has no gain
    # (0 / 0) and is left out; one where only the reference scores 0 has an
    # infinite gain, and so may the interval.
    low, high = torch.nanquantile(
        torch.cat(gains),
        torch.tensor([tail, 1 - tail], dtype=torch.float64),
        interpolation='nearest',  # no inf - inf between infinite gains
    ).tolist()
    return float(values.mean() / reference.mean() - 1), low, high


def _test_recall(row: Dict[str, Value], k: int) -> Optional[float]:
    value = row.get(f'test_recall@{k}')
    return None if value is None else float(value)


def against_uniform(
    rows: List[Dict[str, Value]],
    histories: Dict[str, List[Dict[str, Value]]],
    k: int,
    per_user: Optional[Dict[str, Tensor]] = None,
    seed: int = 0,
    reference: str = 'uniform',
) -> None:
    r"""Adds to every row but uniform's, in place, how it fares against the
    :obj:`'uniform'` run of the same comparison (:obj:`None` without one);
    with :obj:`reference`, against the row whose :obj:`'sampler'` it names
    (uniform below stands for that row):

    * :obj:`vs_uniform`: the relative gain of its selected test
      Recall@:obj:`k` over uniform's selected test Recall@:obj:`k`;
    * :obj:`above_uniform`: the share of uniform's evaluations after the
      first quarter of uniform's run (epochs :math:`\geq` a quarter of its
      last evaluated epoch) at which the sampler's test Recall@:obj:`k` is
      at least uniform's. The sampler's value at an epoch is that of its
      last evaluation up to that epoch; past the end of its run, the value
      of its selected checkpoint, the weights early stopping hands back.
      :obj:`1.0`: its curve never drops below uniform's after the first
      quarter;
    * :obj:`vs_uniform_low`, :obj:`vs_uniform_high`: the 95% paired
      bootstrap interval of :obj:`vs_uniform` (:func:`paired_gain`, seeded
      with :obj:`seed`) from the per-user test Recall@:obj:`k` of both
      selected checkpoints in :obj:`per_user` (by sampler name; without
      them, :obj:`None`).
    """
    k = check_positive_int(k, 'k')
    seed = check_seed(seed)
    check_instance(reference, 'reference', str)
    check_instance(per_user, 'per_user', dict, optional=True)
    for name, values in (per_user or {}).items():
        check_float_tensor(values, f'per_user[{name!r}]', dim=1)
        ref_values = per_user.get(reference, values)
        if values.shape != ref_values.shape:
            raise ValueError(
                f"'per_user' must hold one value per test user for every "
                f'run (got {values.numel()} for {name!r}, '
                f'{ref_values.numel()} for {reference!r})'
            )
    by_name = {row['sampler']: row for row in rows}
    ref_row = by_name.get(reference)
    base = None if ref_row is None else _test_recall(ref_row, k)
    points = [
        (int(h['epoch']), _test_recall(h, k))
        for h in histories.get(reference) or []
        if _test_recall(h, k) is not None
    ]
    if points:
        quarter = points[-1][0] / 4
        points = [(e, r) for e, r in points if e >= quarter]
    for row in rows:
        row['vs_uniform'] = row['above_uniform'] = None
        row['vs_uniform_low'] = row['vs_uniform_high'] = None
        if row is ref_row or base is None:
            continue
        own = _test_recall(row, k)
        if own is None:
            continue
        row['vs_uniform'] = own / base - 1 if base > 0 else None
        curve = [
            (int(h['epoch']), _test_recall(h, k))
            for h in histories.get(str(row['sampler']), [])
        ]
        above = []
        for epoch, recall in points:
            value = own  # past the end of its run: its selected checkpoint
            if curve and epoch <= curve[-1][0]:
                seen = [r for e, r in curve if e <= epoch and r is not None]
                value = seen[-1] if seen else None
            if value is not None:
                above.append(value >= recall)
        row['above_uniform'] = sum(above) / len(above) if above else None
        mine = (per_user or {}).get(str(row['sampler']))
        theirs = (per_user or {}).get(reference)
        if mine is not None and theirs is not None and base > 0:
            _, row['vs_uniform_low'], row['vs_uniform_high'] = paired_gain(
                mine, theirs, seed=seed
            )


def resolve_samplers(samplers: Sequence[str]) -> List[str]:
    r"""The registered names of :obj:`samplers`, checked: a non-empty list
    of known, distinct names (else a :class:`ValueError` or
    :class:`TypeError` naming :obj:`'samplers'`)."""
    if isinstance(samplers, str) or not isinstance(samplers, Sequence):
        raise TypeError(
            f"'samplers' must be a list of sampler names (got "
            f'{type(samplers).__name__})'
        )
    if len(samplers) == 0:
        raise ValueError("'samplers' must name at least one sampler (got [])")
    keys = [resolve_strategy_name(name, 'samplers') for name in samplers]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise ValueError(
                f"'samplers' names {key!r} twice (got {list(samplers)})"
            )
    return keys


def run_config(config: TrainConfig, sampler: str) -> TrainConfig:
    r"""The configuration of :obj:`sampler`'s run: :obj:`config` with that
    sampler, under ``<out_dir>/<sampler>`` (and
    ``<tensorboard>/<sampler>``), resumed only when it has a checkpoint,
    and without :obj:`warmup_epochs` when the sampler does not read it."""
    key = resolve_strategy_name(sampler, 'samplers')
    run_dir = os.path.join(config.out_dir, key)
    tensorboard = config.tensorboard
    return dataclasses.replace(
        config,
        sampler=sampler,
        out_dir=run_dir,
        resume=config.resume
        and os.path.lexists(os.path.join(run_dir, 'checkpoint.pt')),
        tensorboard=None
        if tensorboard is None
        else os.path.join(tensorboard, key),
        warmup_epochs=config.warmup_epochs
        if key in WARMUP_STRATEGIES
        else None,
    )


def _data_name(config) -> str:
    r"""The dataset's name, with a folder dataset's folder name."""
    if config.dataset == 'folder' and config.data_root:
        root = os.path.basename(os.path.normpath(config.data_root))
        return f'folder {root}'
    return config.dataset


def compare_samplers(
    config: TrainConfig,
    samplers: Sequence[str],
    split: Optional[InteractionSplit] = None,
    log: Callable[[str], None] = print,
) -> Comparison:
    r"""Trains one run per sampler of :obj:`samplers`, each with
    :obj:`config` but its sampler (so the same split, seed, schedule,
    budget and early stopping), under ``<out_dir>/<sampler>``, and writes
    ``<out_dir>/compare.csv`` and (with :obj:`config.plot`)
    ``<out_dir>/compare.png``.

    The budget is :obj:`config.epochs` per sampler (each run stops earlier
    when :obj:`config.patience` runs out), or :obj:`config.max_minutes` per
    sampler. Every run is selected on the same split as a lone
    :class:`~torch_geometric_negsamp.train.Trainer` run is. A run whose
    loss diverges is reported (``stop_reason`` :obj:`"diverged"`) and the
    others go on. With :obj:`config.resume`, a run resumes from its
    checkpoint when it has one (a finished run is only reported again) and
    starts afresh otherwise.

    Args:
        config (TrainConfig): The settings every run shares.
        samplers (list of str): The samplers, in the order of the table.
        split (InteractionSplit, optional): The data instead of
            :obj:`config.dataset`, loaded once. (default: :obj:`None`)
        log (callable, optional): Where progress lines go, each prefixed
            with its sampler. (default: :func:`print`)
    """
    from torch_geometric_negsamp.train.runs import selected_test_recall
    from torch_geometric_negsamp.train.trainer import Trainer

    keys = resolve_samplers(samplers)
    for name in samplers:
        run_config(config, name).validate()
    if split is None:
        split = load_split(config)
    k = config.k
    select_key = f'{config.select_on}_recall@{k}'
    columns = [
        'sampler',
        'epoch',
        select_key,
        f'test_recall@{k}',
        f'test_ndcg@{k}',
        'train_seconds',
        'total_seconds',
        'stop_epoch',
        'stop_reason',
        'vs_uniform',
        'vs_uniform_low',
        'vs_uniform_high',
        'above_uniform',
        *DIAGNOSTIC_KEYS,
    ]
    out = Comparison(
        columns=columns,
        selected_on=config.select_on,
        k=k,
        out_dir=config.out_dir,
    )
    per_user: Dict[str, Tensor] = {}
    for name, key in zip(samplers, keys):
        trainer = Trainer(
            run_config(config, name),
            log=lambda line, key=key: log(f'[{key}] {line}'),
            split=split,
        )
        try:
            result = trainer.fit()
        except FloatingPointError as error:
            log(f'[{key}] {error}')
            result = trainer.result
            result.stop_reason = 'diverged'
        best = result.best or {}
        row = {c: best.get(c) for c in columns}
        row.update(
            sampler=key,
            total_seconds=trainer.train_seconds,
            stop_epoch=result.stop_epoch,
            stop_reason=result.stop_reason,
        )
        out.rows.append(row)
        out.histories[key] = list(result.history)
        if 'uniform' in keys and trainer.best_state is not None:
            per_user[key] = selected_test_recall(trainer)
    against_uniform(out.rows, out.histories, k, per_user, config.seed)
    os.makedirs(config.out_dir, exist_ok=True)
    reporting.write_csv(os.path.join(config.out_dir, 'compare.csv'), out.rows)
    if config.plot:
        plots.plot_comparison(
            os.path.join(config.out_dir, 'compare.png'),
            out.histories,
            {row['sampler']: row['epoch'] for row in out.rows},
            k,
            config.select_on,
            f'{config.encoder} on {_data_name(config)}, seed {config.seed}',
        )
    return out


__all__ = [
    'Comparison',
    'against_uniform',
    'compare_samplers',
    'paired_gain',
    'resolve_samplers',
    'run_config',
]
