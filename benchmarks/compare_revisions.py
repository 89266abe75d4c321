r"""Sampling speed of the working tree against another revision, measured in
the same run.

Each revision's own ``benchmarks/bench_sampling.py`` runs in a fresh
process with that revision's package first on ``sys.path``; the two
alternate for ``--rounds`` rounds (A B B A A B ...), so that a change in the
machine's load hits both alike. Rows are matched by (graph, batch, method)
and the script prints, per row, the median over rounds of
``time(head) / time(base)`` (above 1 means slower), then the rows where the
head is slower than ``--tolerance``. Usage::

    python benchmarks/compare_revisions.py --base c10406b [--rounds 3]
        [--small] [--threads 1] [--out compare.json]

Methods whose name changed between the revisions (a module renamed, say)
are matched by the map in :data:`RENAMED`.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

#: Method labels that changed between revisions: old -> new.
RENAMED = {}


def checkout(rev: str, where: str) -> str:
    path = os.path.join(where, 'base')
    subprocess.run(
        ['git', '-C', ROOT, 'worktree', 'add', '--detach', path, rev],
        check=True,
        capture_output=True,
    )
    return path


def run_bench(tree: str, args, out: str) -> list:
    cmd = [
        sys.executable,
        os.path.join(tree, 'benchmarks', 'bench_sampling.py'),
        '--out',
        out,
        '--threads',
        str(args.threads),
        '--min-time',
        str(args.min_time),
    ]
    if args.small:
        cmd.append('--small')
    env = dict(os.environ, PYTHONPATH=tree)
    subprocess.run(cmd, check=True, env=env, cwd=tree, capture_output=True)
    with open(out) as f:
        return json.load(f)['rows']


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--base', required=True, help='git revision')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--small', action='store_true')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--min-time', type=float, default=0.3)
    parser.add_argument('--tolerance', type=float, default=1.05)
    parser.add_argument('--out', default='compare_revisions.json')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        base = checkout(args.base, tmp)
        try:
            ratios = {}
            for r in range(args.rounds):
                order = [('base', base), ('head', ROOT)]
                if r % 2:
                    order.reverse()
                rows = {}
                for name, tree in order:
                    out = os.path.join(tmp, f'{name}-{r}.json')
                    rows[name] = run_bench(tree, args, out)
                    print(f'round {r + 1}: {name} done', flush=True)
                base_ms = {
                    (
                        x['graph'],
                        x['batch'],
                        RENAMED.get(x['method'], x['method']),
                    ): x['ms_per_call']
                    for x in rows['base']
                }
                for x in rows['head']:
                    key = (x['graph'], x['batch'], x['method'])
                    if key in base_ms:
                        ratios.setdefault(key, []).append(
                            x['ms_per_call'] / base_ms[key]
                        )
        finally:
            subprocess.run(
                ['git', '-C', ROOT, 'worktree', 'remove', '--force', base],
                check=False,
                capture_output=True,
            )
    table = []
    print(f'\n{"graph":<10} {"batch":>6}  {"method":<42} head/base')
    for (graph, batch, method), values in sorted(ratios.items()):
        med = statistics.median(values)
        table.append(
            {
                'graph': graph,
                'batch': batch,
                'method': method,
                'time_ratio_median': med,
                'time_ratios': values,
            }
        )
        print(f'{graph:<10} {batch:>6}  {method:<42} {med:8.3f}')
    slower = [t for t in table if t['time_ratio_median'] > args.tolerance]
    print(
        f'\n{len(slower)} of {len(table)} rows slower than '
        f'{args.tolerance:.2f}x base'
    )
    with open(args.out, 'w') as f:
        json.dump({'base': args.base, 'rows': table}, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
