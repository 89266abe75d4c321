r"""The training command: :obj:`negsamp-train` or
:obj:`python -m torch_geometric_negsamp`.

Every error ends in one line, ``negsamp-train: error: ...``, and exit code
2 (130 after Ctrl-C, with the flags that resume)."""

import argparse
import dataclasses
import sys
from typing import List, NoReturn, Optional

from torch_geometric_negsamp.train.checkpoint import one_line
from torch_geometric_negsamp.train.config import (
    PRESETS,
    TrainConfig,
    preset_values,
)
from torch_geometric_negsamp.train.factories import (
    DATASETS,
    ENCODERS,
    LOSSES,
)
from torch_geometric_negsamp.train.strategies import strategy_names

PROG = 'negsamp-train'


class _Failure(Exception):
    r"""Ends the command with one error line and exit code 2."""


def fail(message: object) -> NoReturn:
    raise _Failure(one_line(message, 1000))


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        fail(message)


def _names(registry) -> str:
    return ', '.join(registry.names())


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
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
    p.add_argument(
        '--dataset',
        default=defaults.dataset,
        help=f'{_names(DATASETS)} (default: {defaults.dataset})',
    )
    p.add_argument(
        '--data-root',
        default=None,
        help='folder with train.txt and test.txt (LightGCN '
        'format) for yelp2018, amazon-book or folder',
    )
    p.add_argument(
        '--subset-users',
        type=int,
        default=None,
        help='train on a random slice of this many users',
    )
    p.add_argument(
        '--encoder',
        default=defaults.encoder,
        help=f'{_names(ENCODERS)} (default: {defaults.encoder})',
    )
    p.add_argument(
        '--sampler',
        default=defaults.sampler,
        help=f'{", ".join(strategy_names())} (default: {defaults.sampler})',
    )
    p.add_argument(
        '--loss',
        default=defaults.loss,
        help=f'{_names(LOSSES)} (default: {defaults.loss})',
    )
    p.add_argument(
        '--num-neg',
        type=int,
        default=defaults.num_neg,
        help='negatives per positive',
    )
    p.add_argument(
        '--candidates',
        type=int,
        default=defaults.candidates,
        help='candidate pool M per negative: dns, softmax and mixgcf pick '
        'among M uniform candidates (default: %(default)s)',
    )
    p.add_argument(
        '--cache-size',
        type=int,
        default=defaults.cache_size,
        help='hard negatives cached per user by cache (NSCaching) '
        '(default: %(default)s)',
    )
    p.add_argument(
        '--queue-size',
        type=int,
        default=defaults.queue_size,
        help='recent positive items kept as negatives by queue (MoCo) '
        '(default: %(default)s)',
    )
    p.add_argument(
        '--mixed-negatives',
        type=int,
        default=defaults.mixed_negatives,
        help='uniform items mixed into the in-batch negatives by inbatch, '
        '0 for none (default: %(default)s)',
    )
    p.add_argument(
        '--temperature',
        type=float,
        default=defaults.temperature,
        help='softmax temperature of the softmax sampler, the cache '
        'refresh and the sampled-softmax loss (default: %(default)s)',
    )
    p.add_argument(
        '--alpha',
        type=float,
        default=defaults.alpha,
        help='popularity exponent',
    )
    p.add_argument(
        '--margin', type=float, default=defaults.margin, help='hinge margin'
    )
    p.add_argument(
        '--embedding-dim',
        type=int,
        default=defaults.embedding_dim,
        help='size of the ego embeddings (default: %(default)s)',
    )
    p.add_argument(
        '--layers',
        dest='num_layers',
        type=int,
        default=defaults.num_layers,
        help='propagation layers, 0 for matrix factorisation '
        '(default: %(default)s)',
    )
    p.add_argument('--lr', type=float, default=None, help='Adam step size')
    p.add_argument(
        '--batch-size', type=int, default=None, help='positives per step'
    )
    p.add_argument(
        '--reg',
        type=float,
        default=defaults.reg,
        help='L2 weight on the batch ego embeddings',
    )
    p.add_argument('--epochs', type=int, default=None)
    p.add_argument(
        '--eval-every',
        type=int,
        default=None,
        help='evaluate every this many epochs (and after the last)',
    )
    p.add_argument(
        '--k',
        type=int,
        default=defaults.k,
        help='cut-off of Recall@k and NDCG@k (default: %(default)s)',
    )
    p.add_argument(
        '--eval-batch-size',
        type=int,
        default=defaults.eval_batch_size,
        help='users ranked at once in evaluation (default: %(default)s)',
    )
    p.add_argument(
        '--val-fraction',
        type=float,
        default=defaults.val_fraction,
        help='per-user share of training interactions held out '
        'for model selection (0 disables it)',
    )
    p.add_argument(
        '--select-on-test',
        action='store_true',
        help='select the checkpoint on the TEST split, as much of '
        'the literature does (labelled optimistic in the output)',
    )
    p.add_argument(
        '--device',
        default=defaults.device,
        help="'cpu', 'cuda', 'cuda:1', ... or 'auto' (CUDA when available)",
    )
    p.add_argument(
        '--seed',
        type=int,
        default=defaults.seed,
        help='seed of every random choice (default: %(default)s)',
    )
    p.add_argument(
        '--out',
        dest='out_dir',
        default=None,
        help='output folder (default: runs/<dataset>-<encoder>-'
        '<sampler>-seed<seed>)',
    )
    p.add_argument(
        '--resume',
        action='store_true',
        help='continue from the checkpoint in the output folder (an error '
        'when there is none)',
    )
    p.add_argument(
        '--max-minutes',
        type=float,
        default=None,
        help='stop (and evaluate) once this much time is spent',
    )
    p.add_argument(
        '--no-progress', action='store_true', help='no progress bar'
    )
    p.add_argument('--no-plot', action='store_true', help='no curve.png')
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = preset_values(args.preset, args.device)
    for name in ('lr', 'batch_size', 'epochs', 'eval_every'):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for name, value in vars(args).items():
        if name in fields and name not in values and value is not None:
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
    try:
        return _run(argv)
    except _Failure as e:
        print(f'{PROG}: error: {e}', file=sys.stderr)
        return 2


def _run(argv: Optional[List[str]]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args).validate()
    except (ValueError, TypeError) as e:
        fail(e)
    for name in config.unused_sizes():
        flag = '--' + name.replace('_', '-')
        print(
            f'note: {flag} is not read by --sampler {config.sampler}',
            file=sys.stderr,
        )
    from torch_geometric_negsamp.train.checkpoint import check_writable
    from torch_geometric_negsamp.train.trainer import Trainer

    try:
        check_writable(config.out_dir)
        trainer = Trainer(config, log=lambda line: print(line, flush=True))
    except (ValueError, TypeError, OSError) as e:
        fail(e)
    print(
        f'{config.dataset}: {trainer.split.num_users} users, '
        f'{trainer.split.num_items} items, {trainer.split.num_train} '
        f'training interactions; {config.encoder} + {config.sampler} '
        f'({trainer.loss_name}) on {trainer.device}; {config.epochs} '
        f'epochs of batch {config.batch_size}, lr {config.lr}',
        flush=True,
    )
    try:
        result = trainer.fit()
    except KeyboardInterrupt:
        print(
            f'\ninterrupted after epoch {trainer.epoch}; continue with '
            f'--resume --out {config.out_dir}',
            file=sys.stderr,
        )
        return 130
    except (ValueError, TypeError, OSError, FloatingPointError) as e:
        fail(e)
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
