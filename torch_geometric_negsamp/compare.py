r"""The comparison command: :obj:`negsamp-compare` or
:obj:`python -m torch_geometric_negsamp.compare`.

Trains one run per sampler of ``--samplers`` with every other flag of
:obj:`negsamp-train` shared (same split, seed and budget), then prints a
table and writes ``compare.csv`` and ``compare.png`` beside the runs.
Every error ends in one line, ``negsamp-compare: error: ...``, and exit
code 2 (130 after Ctrl-C, with the flags that resume)."""

import argparse
import sys
from typing import List, Optional

from torch_geometric_negsamp import __main__ as train_command
from torch_geometric_negsamp.train.config import TrainConfig

PROG = 'negsamp-compare'
#: The early stopping of every run when neither --patience nor the preset
#: sets one: each sampler is compared at its own best.
COMPARE_PATIENCE = 5


def build_parser() -> argparse.ArgumentParser:
    r""":obj:`negsamp-train`'s parser with ``--samplers`` in place of
    ``--sampler``."""
    p = train_command.build_parser()
    p.prog = PROG
    p.description = (
        'Train several negative samplers on the same split, seed and budget '
        '(--epochs, or --max-minutes per sampler; --patience stops each at '
        'its own best) and compare them: a table, compare.csv and '
        'compare.png in --out, one folder per sampler. Every negsamp-train '
        'flag applies to every run; --samplers replaces --sampler. '
        f'--patience defaults to {COMPARE_PATIENCE} (0: train every run '
        'for all --epochs).'
    )
    p.add_argument(
        '--samplers',
        required=True,
        help='comma-separated samplers, in the order of the table '
        '(e.g. uniform,dns,mixgcf)',
    )
    p.set_defaults(sampler=None)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    r"""Runs the command on :obj:`argv` (default: :obj:`sys.argv`); returns
    the exit code: 0, 2 after an error (one line on stderr), 130 after
    Ctrl-C."""
    return train_command.run_command(PROG, lambda: _run(argv))


def _run(argv: Optional[List[str]]) -> int:
    from torch_geometric_negsamp.train.checkpoint import check_writable
    from torch_geometric_negsamp.train.compare import (
        compare_samplers,
        resolve_samplers,
        run_config,
    )

    fail = train_command.fail
    args = build_parser().parse_args(argv)
    if args.sampler is not None:
        fail(
            'negsamp-compare takes --samplers (a comma-separated list), '
            'not --sampler'
        )
    samplers = [name.strip() for name in args.samplers.split(',')]
    if not all(samplers):
        fail(
            f"'samplers' must be comma-separated names (got {args.samplers!r})"
        )
    args.sampler = samplers[0]

    def configure() -> TrainConfig:
        resolve_samplers(samplers)
        config = train_command.config_from_args(args)
        if config.patience is None:
            config.patience = COMPARE_PATIENCE
        if args.out_dir is None:
            config.out_dir = (
                f'runs/compare-{config.dataset}-{config.encoder}-'
                f'seed{config.seed}'
            )
        for name in samplers:
            run_config(config, name).validate()
        check_writable(config.out_dir)
        return config

    config = train_command.guarded(configure)

    def log(line: str) -> None:
        print(line, flush=True)

    result = train_command.guarded(
        lambda: compare_samplers(config, samplers, log=log),
        resume=lambda: (
            '; finished runs are kept, '
            + train_command.resume_hint(config.out_dir)
        ),
    )
    print(result.table())
    print(
        f'files in {config.out_dir}: compare.csv, compare.png, a folder '
        f'per sampler'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
