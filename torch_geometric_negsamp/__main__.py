r"""The training command: :obj:`negsamp-train` or
:obj:`python -m torch_geometric_negsamp`.

Every error ends in one line, ``negsamp-train: error: ...``, and exit code
2 (130 after Ctrl-C, with the flags that resume)."""

import argparse
import dataclasses
import shlex
import sys
import typing
from typing import Callable, Dict, List, NoReturn, Optional, TypeVar

from torch_geometric_negsamp.train.checkpoint import one_line
from torch_geometric_negsamp.train.config import (
    PRESETS,
    TrainConfig,
    preset_values,
)
from torch_geometric_negsamp.train.ddp import launched
from torch_geometric_negsamp.train.factories import (
    DATASETS,
    ENCODERS,
    LOSSES,
)
from torch_geometric_negsamp.train.hard_strategies import (
    DENS_WARMUP,
    SRNS_WARMUP,
)
from torch_geometric_negsamp.train.strategies import strategy_names

PROG = 'negsamp-train'


class _Failure(Exception):
    r"""Ends the command with one error line and exit code 2."""


#: The public name of the failure, for the commands built on this one
#: (:obj:`negsamp-compare`).
CommandError = _Failure


class _Interrupted(Exception):
    r"""Ends the command after Ctrl-C with exit code 130; the message says
    how to continue."""


#: What a command reports as one error line instead of a traceback: bad
#: input, a file it cannot read or write, a missing extra, a diverged run.
ERRORS = (ValueError, TypeError, OSError, ImportError, FloatingPointError)

T = TypeVar('T')


def fail(message: object) -> NoReturn:
    raise _Failure(one_line(message, 1000))


def guarded(
    job: Callable[[], T], resume: Optional[Callable[[], str]] = None
) -> T:
    r"""Runs :obj:`job`; an error of :obj:`ERRORS` becomes the command's
    error line, and Ctrl-C, where :obj:`resume` says how to continue (it is
    called then), exit code 130."""
    try:
        return job()
    except KeyboardInterrupt:
        if resume is None:
            raise
        raise _Interrupted(resume()) from None
    except ERRORS as e:
        fail(e)


def resume_hint(out_dir: str) -> str:
    r"""How to continue an interrupted run in :obj:`out_dir`: the flags
    to add to the command's own (not read back from :obj:`sys.argv`, which
    is another program's when the command runs through :func:`main`)."""
    return (
        f'continue with the same flags and --resume --out '
        f'{shlex.quote(out_dir)}'
    )


def run_command(prog: str, body: Callable[[], int]) -> int:
    r"""The exit code of :obj:`body`: its own, 2 after an error (one line
    on stderr, named after :obj:`prog`) or 130 after Ctrl-C."""
    try:
        return body()
    except _Failure as e:
        print(f'{prog}: error: {e}', file=sys.stderr)
        return 2
    except _Interrupted as e:
        print(f'\ninterrupted{e}', file=sys.stderr)
        return 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        fail(message)


#: The flags and their help, in the order of ``--help``. A flag is the
#: field's name with ``-`` for ``_`` (but :obj:`_FLAG_NAMES`), sets that
#: field of :class:`TrainConfig` with the field's type, and defaults to its
#: default (but the schedule's fields, set by the preset, and the output
#: folder, named after the run). Flags of a
#: :obj:`bool` or of no field are switches. ``{names}`` lists the
#: registered names the field accepts.
FLAGS: Dict[str, Optional[str]] = {
    'dataset': '{names} (default: %(default)s)',
    'data_root': (
        'folder with train.txt and test.txt (LightGCN format) for '
        'yelp2018, amazon-book or folder'
    ),
    'subset_users': 'train on a random slice of this many users',
    'encoder': '{names} (default: %(default)s)',
    'sampler': '{names} (default: %(default)s)',
    'loss': '{names} (default: %(default)s)',
    'num_neg': 'negatives per positive',
    'candidates': (
        'candidate pool M per negative: dns, softmax and mixgcf pick among '
        'M uniform candidates (default: %(default)s)'
    ),
    'cache_size': (
        'hard negatives cached per user by cache (NSCaching) (default: '
        '%(default)s)'
    ),
    'queue_size': (
        'recent positive items kept as negatives by queue (MoCo) (default: '
        '%(default)s)'
    ),
    'mixed_negatives': (
        'uniform items mixed into the in-batch negatives by inbatch, 0 for '
        'none (default: %(default)s)'
    ),
    'temperature': (
        'softmax temperature of the softmax sampler, the cache refresh and '
        '(unless --loss-temperature) the sampled-softmax loss (default: '
        '%(default)s)'
    ),
    'loss_temperature': (
        'temperature of the sampled-softmax loss alone (default: '
        '--temperature)'
    ),
    'alpha': 'popularity exponent',
    'margin': 'hinge margin',
    'embedding_dim': 'size of the ego embeddings (default: %(default)s)',
    'num_layers': (
        'propagation layers, 0 for matrix factorisation (default: %(default)s)'
    ),
    'lr': 'Adam step size',
    'batch_size': 'positives per step',
    'reg': 'L2 weight on the batch ego embeddings',
    'epochs': None,
    'eval_every': 'evaluate every this many epochs (and after the last)',
    'k': 'cut-off of Recall@k and NDCG@k (default: %(default)s)',
    'eval_batch_size': (
        'users ranked at once in evaluation (default: %(default)s)'
    ),
    'val_fraction': (
        'per-user share of training interactions held out for model '
        'selection (0 disables it)'
    ),
    'select_on_test': (
        'select the checkpoint on the TEST split, as much of the '
        'literature does (labelled optimistic in the output)'
    ),
    'device': "'cpu', 'cuda', 'cuda:1', ... or 'auto' (CUDA when available)",
    'seed': 'seed of every random choice (default: %(default)s)',
    'out_dir': (
        'output folder (default: '
        'runs/<dataset>-<encoder>-<sampler>-seed<seed>)'
    ),
    'resume': (
        'continue from the checkpoint in the output folder (an error when '
        'there is none)'
    ),
    'max_minutes': 'stop (and evaluate) once this much time is spent',
    'no_progress': 'no progress bar',
    'no_plot': 'no curve.png',
    # The region samplers (region, recns, mcns):
    'khop': (
        'hops k of the intermediate region of region, recns and mcns: '
        'items reachable by a walk of k edges, k odd (default: %(default)s)'
    ),
    'adjacent_hops': (
        'hops of the adjacent region (never sampled), odd and below --khop '
        '(default: %(default)s)'
    ),
    'distant_share': (
        'probability that region and recns draw from the distant region '
        'instead (default: %(default)s)'
    ),
    'region_budget': (
        "bytes the region build may hold at once (default: the region's own)"
    ),
    'exposure': (
        'exposure file (LightGCN format: user item item ...) of exposed, '
        'not interacted items for recns; without it recns is RecNS-O'
    ),
    'simulate_exposure': (
        "recns: simulate exposures as each user's N most popular "
        'non-interacted items (labelled SIMULATED)'
    ),
    'warmup_epochs': (
        'hardness warm-up in epochs: dns grows its candidate count and '
        'softmax its inverse temperature from uniform to hard over this '
        'many epochs (default: none); dens and srns ramp their own rule '
        f'(default: dens {DENS_WARMUP}, srns {SRNS_WARMUP})'
    ),
    'patience': (
        'stop once the selection Recall has not improved for this many '
        'evaluations and restore the best weights (0: never; default: 10 '
        'with the paper preset, never otherwise)'
    ),
    'tensorboard': (
        'also log every evaluation to TensorBoard in this folder (needs '
        "the 'tensorboard' extra)"
    ),
}

#: Flags not named after their field.
_FLAG_NAMES = {'num_layers': '--layers', 'out_dir': '--out'}

#: The registered names each naming field accepts.
_NAMES = {
    'dataset': DATASETS.names,
    'encoder': ENCODERS.names,
    'sampler': strategy_names,
    'loss': LOSSES.names,
}


def _field_type(name: str) -> Optional[type]:
    r"""The type of field :obj:`name` of :class:`TrainConfig` (:obj:`int`
    for :obj:`Optional[int]`), or :obj:`None` if there is no such field."""
    field = TrainConfig.__dataclass_fields__.get(name)
    if field is None:
        return None
    return next(iter(typing.get_args(field.type)), field.type)


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    # Set later: by the preset, and after the run (out_dir).
    unset = {name for preset in PRESETS.values() for name in preset}
    unset.add('out_dir')
    p = _Parser(
        prog=PROG,
        description='Train a graph recommender with a negative sampler and '
        'report full-ranking Recall@k / NDCG@k. Defaults: the embedded '
        'Gowalla split, LightGCN, uniform filtered negatives, BPR.',
    )
    p.add_argument(
        '--preset',
        choices=['auto', *PRESETS],
        default='auto',
        help="schedule: 'quick' (batch 8192, lr 5e-3, 20 epochs; "
        "minutes on a CPU), 'paper' (LightGCN paper: batch 2048, "
        "lr 1e-3, 1000 epochs); 'auto' is quick on CPU, paper on "
        'CUDA. Explicit flags override it.',
    )
    for name, text in FLAGS.items():
        flag = _FLAG_NAMES.get(name, '--' + name.replace('_', '-'))
        if name in _NAMES:
            text = text.format(names=', '.join(_NAMES[name]()))
        kind = _field_type(name)
        if kind in (None, bool):
            p.add_argument(flag, dest=name, action='store_true', help=text)
            continue
        default = None if name in unset else getattr(defaults, name)
        p.add_argument(flag, dest=name, type=kind, default=default, help=text)
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = preset_values(args.preset, args.device)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for name, value in vars(args).items():
        if name in fields and value is not None:
            values[name] = value
    values['select_on'] = 'test' if args.select_on_test else 'val'
    if args.select_on_test and args.val_fraction == TrainConfig.val_fraction:
        values['val_fraction'] = 0.0
    values['progress'] = not args.no_progress
    values['plot'] = not args.no_plot
    if args.out_dir is None:
        values['out_dir'] = (
            f'runs/{args.dataset}-{args.encoder}-'
            f'{args.sampler}-seed{args.seed}'
        )
    return TrainConfig(**values)


def main(argv: Optional[List[str]] = None) -> int:
    r"""Runs the command on :obj:`argv` (default: :obj:`sys.argv`); returns
    the exit code: 0, 2 after an error (one line on stderr), 130 after
    Ctrl-C."""
    # Under torchrun rank 0 prints; an error or Ctrl-C is reported before
    # the ranks wait for each other on the way out.
    with launched():
        return run_command(PROG, lambda: _run(argv))


def _run(argv: Optional[List[str]]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config = guarded(lambda: config_from_args(args).validate())
    for name in config.unused_sizes():
        flag = '--' + name.replace('_', '-')
        print(
            f'note: {flag} is not read by --sampler {config.sampler}',
            file=sys.stderr,
        )
    from torch_geometric_negsamp.train.checkpoint import check_writable
    from torch_geometric_negsamp.train.trainer import Trainer

    def build() -> Trainer:
        check_writable(config.out_dir)
        return Trainer(config, log=lambda line: print(line, flush=True))

    trainer = guarded(build)
    print(
        f'{config.dataset}: {trainer.split.num_users} users, '
        f'{trainer.split.num_items} items, {trainer.split.num_train} '
        f'training interactions; {config.encoder} + {config.sampler} '
        f'({trainer.loss_name}) on {trainer.device}'
        f'{trainer.parallel.describe()}; {config.epochs} '
        f'epochs of batch {config.batch_size}, lr {config.lr}',
        flush=True,
    )
    result = guarded(
        trainer.fit,
        resume=lambda: (
            f' after epoch {trainer.epoch}; {resume_hint(config.out_dir)}'
        ),
    )
    best = result.best
    if best is not None:
        k = config.k
        print(
            f'Recall@{k} {best[f"test_recall@{k}"]:.4f}  '
            f'NDCG@{k} {best[f"test_ndcg@{k}"]:.4f}  (test split, epoch '
            f'{best["epoch"]}; files in {config.out_dir})'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
