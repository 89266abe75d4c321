r"""Data-parallel training throughput and the memory of the index.

(a) **Throughput**: the training command (``python -m
    torch_geometric_negsamp``: LightGCN, uniform filtered negatives, BPR)
    on a slice of the embedded Gowalla split, once in one process and once
    under ``torchrun --standalone --nproc_per_node 2`` (gloo on the CPU),
    with the same flags (``--batch-size`` is per process, so two processes
    take half the steps of twice the positives). Each run's training
    seconds (``train_seconds`` of its ``metrics.json``, evaluation
    excluded) give the positives trained per second (training interactions
    times epochs over those seconds) and the ratio of two processes to
    one. On a CPU the processes share its cores: the single process gets
    ``--threads`` intra-op threads (default: all cores), each of the two
    ``--threads // 2`` (at least 1); a single process of ``--threads // 2``
    threads is run too, for the ratio at equal threads per process. The
    JSON states the core count and load average: on 2 shared cores the
    ratio says how the cores were shared (intra-op threads against
    processes), not how data parallelism scales on separate devices.
(b) **Bytes per positive** of :class:`~torch_geometric_negsamp.
    PositiveIndex`: :attr:`nbytes` over its number of (distinct) positives,
    on the embedded Gowalla training split and on synthetic bipartite
    graphs of :math:`10^6` and :math:`10^7` uniform random pairs (average
    user degree 25, 2 users per item); and, for 2 and 4 ranks, the bytes
    per rank of the replicated index against the largest share of
    :class:`~torch_geometric_negsamp.distributed.ShardedPositiveIndex`.

``--quick`` runs everything in a reduced setting (300 users, 2 epochs;
synthetic graphs of :math:`10^5` and :math:`10^6` pairs) to show that the
script works; its figures are not measurements. Usage::

    python benchmarks/bench_distributed.py --out bench_distributed.json
    python benchmarks/bench_distributed.py --quick
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

import torch
from _machine import describe, gowalla_train, machine_info

from torch_geometric_negsamp import PositiveIndex
from torch_geometric_negsamp.distributed import ShardedPositiveIndex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- training
def train_run(
    processes: int, threads: int, flags: List[str], timeout: float
) -> Dict[str, object]:
    r"""One run of the training command in :obj:`processes` processes of
    :obj:`threads` intra-op threads each; its positives per second."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable]
        if processes > 1:
            command += [
                '-m',
                'torch.distributed.run',
                '--standalone',
                '--nproc_per_node',
                str(processes),
            ]
        command += ['-m', 'torch_geometric_negsamp', *flags, '--out', out]
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        env['PYTHONPATH'] = os.pathsep.join(
            [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]
        )
        start = time.perf_counter()
        proc = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=timeout
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(
                f'{" ".join(command)} failed:\n{proc.stderr[-3000:]}'
            )
        with open(os.path.join(out, 'metrics.json')) as f:
            metrics = json.load(f)
    row = metrics['history'][-1]
    found = re.search(r'(\d+) training interactions', proc.stdout)
    if found is None:
        raise RuntimeError(f'no start line in:\n{proc.stdout[-2000:]}')
    num_train = int(found[1])
    epochs = int(row['epoch'])
    seconds = float(row['train_seconds'])
    return {
        'processes': processes,
        'threads_per_process': threads,
        'training_interactions': num_train,
        'epochs': epochs,
        'train_seconds': seconds,
        'wall_seconds': wall,
        'positives_per_second': num_train * epochs / seconds,
        'start_line_states_processes': (
            processes == 1 or f'x {processes} processes' in proc.stdout
        ),
    }


# ------------------------------------------------------------------ memory
def synthetic_pairs(num: int, seed: int = 0):
    r""":obj:`num` uniform random (user, item) pairs, average user degree
    25, two users per item."""
    gen = torch.Generator().manual_seed(seed)
    users, items = max(1, num // 25), max(1, num // 50)
    pairs = torch.stack(
        [
            torch.randint(users, (num,), generator=gen),
            torch.randint(items, (num,), generator=gen),
        ]
    )
    return pairs, users, items


def index_memory(
    name: str, pairs, num_src: int, num_dst: int, worlds: List[int]
) -> Dict[str, object]:
    r"""Bytes per positive of the replicated index, and bytes per rank of
    the replicated and of the sharded index for each world size."""
    start = time.perf_counter()
    index = PositiveIndex(pairs, num_src, num_dst)
    build = time.perf_counter() - start
    row: Dict[str, object] = {
        'graph': name,
        'num_src_nodes': num_src,
        'num_dst_nodes': num_dst,
        'pairs': pairs.size(1),
        'positives': index.num_edges,
        'nbytes': index.nbytes,
        'bytes_per_positive': index.nbytes / max(index.num_edges, 1),
        'build_seconds': build,
        'per_rank': {},
    }
    for world in worlds:
        shares = [
            ShardedPositiveIndex(
                pairs, num_src, num_dst, rank=r, world_size=world
            ).nbytes
            for r in range(world)
        ]
        row['per_rank'][str(world)] = {
            'replicated_bytes': index.nbytes,
            'sharded_bytes_max': max(shares),
            'sharded_bytes_mean': sum(shares) / world,
            'sharded_fraction': max(shares) / max(index.nbytes, 1),
        }
    del index
    return row


# -------------------------------------------------------------------- main
def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--subset-users', type=int, default=3000)
    parser.add_argument('--epochs', type=int, default=5)
    parser.add_argument('--batch-size', type=int, default=2048)
    parser.add_argument(
        '--threads',
        type=int,
        default=os.cpu_count() or 1,
        help='intra-op threads of the single process (each of the two '
        'processes gets half)',
    )
    parser.add_argument(
        '--sizes',
        type=int,
        nargs='+',
        default=[10**6, 10**7],
        help='pairs of the synthetic graphs',
    )
    parser.add_argument('--worlds', type=int, nargs='+', default=[2, 4])
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='runs per process count; the fastest is reported',
    )
    parser.add_argument('--skip-training', action='store_true')
    parser.add_argument('--timeout', type=float, default=3600.0)
    parser.add_argument('--out', default='bench_distributed.json')
    args = parser.parse_args(argv)
    if args.quick:
        args.subset_users, args.epochs, args.repeats = 300, 2, 1
        args.sizes = [10**5, 10**6]
    positive = ('subset_users', 'epochs', 'batch_size', 'threads', 'repeats')
    for name in positive:
        if getattr(args, name) <= 0:
            parser.error(f'--{name.replace("_", "-")} must be positive')
    args.threads = max(2, args.threads)  # two processes get one each
    if min(args.sizes) <= 0 or min(args.worlds) <= 0:
        parser.error('--sizes and --worlds must be positive')

    info = machine_info(torch.device('cpu'))
    print(describe(info))
    report: Dict[str, object] = {'machine': info, 'quick': args.quick}

    if not args.skip_training:
        flags = [
            '--subset-users',
            str(args.subset_users),
            '--epochs',
            str(args.epochs),
            '--batch-size',
            str(args.batch_size),
            '--eval-every',
            str(args.epochs),
            '--device',
            'cpu',
            '--no-progress',
            '--no-plot',
        ]
        half = args.threads // 2
        one, one_half, two = (
            max(
                (
                    train_run(n, threads, flags, args.timeout)
                    for _ in range(args.repeats)
                ),
                key=lambda run: run['positives_per_second'],
            )
            for n, threads in ((1, args.threads), (1, half), (2, half))
        )
        ratio = two['positives_per_second'] / one['positives_per_second']
        report['training'] = {
            'flags': flags,
            'runs': [one, one_half, two],
            # Two processes against one with all the threads, and against
            # one with the threads of each of the two.
            'ratio_2_to_1': ratio,
            'ratio_2_to_1_same_threads': two['positives_per_second']
            / one_half['positives_per_second'],
            'repeats': args.repeats,
            'cores': info['cpu_count'],
        }
        print(
            f'\n(a) training command, {args.subset_users} users, '
            f'{args.epochs} epochs, batch {args.batch_size} per process, '
            f'{info["cpu_count"]} CPU cores shared by the processes'
        )
        for run in (one, one_half, two):
            print(
                f'  {run["processes"]} process(es) x '
                f'{run["threads_per_process"]} thread(s): '
                f'{run["positives_per_second"]:,.0f} positives/s '
                f'({run["train_seconds"]:.2f} s training, '
                f'{run["wall_seconds"]:.1f} s wall)'
            )
        same = report['training']['ratio_2_to_1_same_threads']
        print(
            f'  ratio 2 : 1 = {ratio:.2f} ({same:.2f} against one process '
            f'of {half} thread(s))'
        )

    graphs = []
    pairs, users, items = gowalla_train()
    graphs.append(index_memory('gowalla', pairs, users, items, args.worlds))
    for size in args.sizes:
        pairs, users, items = synthetic_pairs(size)
        name = f'synthetic {size:.0e}'
        graphs.append(index_memory(name, pairs, users, items, args.worlds))
        del pairs
    report['index'] = graphs
    # The constant docs/distributed.md's table uses: the largest graph's.
    report['bytes_per_positive'] = graphs[-1]['bytes_per_positive']
    print('\n(b) PositiveIndex memory')
    print(
        f'  {"graph":<16} {"positives":>12} {"bytes":>14} {"B/positive":>10}'
        + ''.join(f' {f"sharded/{w}":>12}' for w in args.worlds)
    )
    for g in graphs:
        shares = ''.join(
            f' {g["per_rank"][str(w)]["sharded_bytes_max"]:>12,}'
            if str(w) in g['per_rank']
            else f' {"-":>12}'
            for w in args.worlds
        )
        print(
            f'  {g["graph"]:<16} {g["positives"]:>12,} {g["nbytes"]:>14,} '
            f'{g["bytes_per_positive"]:>10.2f}{shares}'
        )
    print(
        f'  bytes per positive (largest graph): '
        f'{report["bytes_per_positive"]:.2f}'
    )
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=2)
    print(f'\nwrote {args.out}')
    return report


if __name__ == '__main__':
    main()
