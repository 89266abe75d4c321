r"""Hard samplers trained to their best on Last.fm: test Recall@20 at the
validation-selected checkpoint against uniform.

Runs ``negsamp-compare`` (:mod:`torch_geometric_negsamp.compare`) on
``../shared/data/lastfm`` with the ``paper`` preset (batch 2048, lr 1e-3, L2
1e-4, 32 candidates), every sampler until validation Recall@20 has not
improved for ``--patience`` evaluations, then prints each sampler's selected
epoch, test Recall@20 / NDCG@20, its gain over uniform with a 95% paired
bootstrap interval over the test users, and how much of uniform's curve
after its first quarter it stays at or above (the ``vs_uniform*`` and
``above_uniform`` columns of ``compare.csv``), and writes them with the
machine to a JSON file (the runs, ``compare.csv`` and ``compare.png`` stay
in ``--out``; ``--resume`` there reuses finished runs).
Usage::

    python benchmarks/bench_hardness.py                       # hours on a CPU
    python benchmarks/bench_hardness.py --samplers uniform,dns --max-epochs 40
    python benchmarks/bench_hardness.py --samplers uniform,dns -- --reg 1e-3
    python benchmarks/bench_hardness.py --gowalla-users 3000 --samplers dns

Arguments after ``--`` go to ``negsamp-compare`` unchanged.

The figures in docs/benchmarks.md ("Hard samplers trained to their best")
come from the default setting.
"""

import argparse
import csv
import os
import sys
from typing import Dict, List, Optional

import torch
from _machine import describe, machine_info, write_report

from torch_geometric_negsamp.compare import main as compare_main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLERS = 'uniform,dns,mixgcf,softmax,srns,ahns,dens'


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        '--data-root',
        default=os.path.join(ROOT, '..', 'shared', 'data', 'lastfm'),
    )
    parser.add_argument(
        '--gowalla-users',
        type=int,
        default=None,
        help='train on a random slice of this many users of the embedded '
        'Gowalla data instead of --data-root',
    )
    parser.add_argument('--samplers', default=SAMPLERS)
    parser.add_argument('--max-epochs', type=int, default=1000)
    parser.add_argument('--eval-every', type=int, default=10)
    parser.add_argument('--patience', type=int, default=10)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--runs', default='runs/bench_hardness')
    parser.add_argument('--resume', action='store_true')
    parser.add_argument('--out', default='bench_hardness.json')
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index('--') if '--' in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.extra = argv[cut + 1 :]
    info = machine_info(torch.device(args.device))
    print(describe(info))
    if args.gowalla_users is None:
        data = ['--dataset', 'folder', '--data-root', args.data_root]
    else:
        data = ['--subset-users', str(args.gowalla_users)]
    command = [
        *data,
        *('--preset', 'paper', '--device', args.device),
        *('--samplers', args.samplers, '--seed', str(args.seed)),
        *('--epochs', str(args.max_epochs)),
        *('--eval-every', str(args.eval_every)),
        *('--patience', str(args.patience)),
        *('--out', args.runs, '--no-progress'),
        *(['--resume'] if args.resume else []),
        *args.extra,
    ]
    code = compare_main(command)
    if code != 0:
        sys.exit(code)
    with open(os.path.join(args.runs, 'compare.csv')) as f:
        rows = list(csv.DictReader(f))

    def percent(row, key):
        return row[key] and f'{float(row[key]):+.1%}'

    header = ('sampler', 'epoch', 'Recall@20', 'vs uniform', '95%', 'above')
    print('\n  {:<10} {:>6} {:>10} {:>11} {:>17} {:>6}'.format(*header))
    for row in rows:
        recall = float(row['test_recall@20'])
        low, high = (
            percent(row, 'vs_uniform_low'),
            percent(row, 'vs_uniform_high'),
        )
        above = row['above_uniform'] and f'{float(row["above_uniform"]):.2f}'
        print(
            f'  {row["sampler"]:<10} {row["epoch"]:>6} {recall:>10.4f} '
            f'{percent(row, "vs_uniform") or "—":>11} '
            f'{f"[{low}, {high}]" if low else "—":>17} {above or "—":>6}'
        )
    report = {'machine': info, 'args': vars(args), 'rows': rows}
    write_report(args.out, report)
    return report


if __name__ == '__main__':
    main()
