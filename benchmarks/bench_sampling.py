r"""Throughput of filtered negative sampling: the library against a bare
``randint`` + ``searchsorted`` loop and against PyG.

Graphs (both bipartite, user -> item):

* the embedded Gowalla training split (29,858 users, 40,981 items, 810,128
  interactions);
* a seeded synthetic power-law graph of 1M x 1M nodes and 20M distinct
  edges: sources uniform, destination popularity Zipf-like (exponent 0.8),
  popular ids scattered by a random permutation (``--small``: 100K x 100K
  nodes, 2M edges).

For batches of 2,048 and 65,536 positives (sources drawn from the edges),
each method produces as many negatives as the batch has positives:

(a) baseline 1: a bare loop of :func:`torch.randint` and
    :func:`torch.searchsorted` over the sorted positive keys (draw one
    destination per source, test, redraw the positives until none is left);
(b) baseline 2: :func:`torch_geometric.utils.negative_sampling` (it
    re-processes the whole edge list on every call; on the 20M-edge graph it
    is timed on one call per batch size, and its throughput is that call's
    negatives per second);
(c) :class:`~torch_geometric_negsamp.UniformSampler` and
    :class:`~torch_geometric_negsamp.PopularitySampler`, fitted once:
    filtered per-source negatives (``sample_negatives``, triplet mode) and
    random negative pairs (``sample_pairs``, binary mode);
(d) the drop-ins :func:`torch_geometric_negsamp.utils.negative_sampling`
    without an index (the edge list is scanned on every call) and with a
    prebuilt ``index=``, and
    :func:`~torch_geometric_negsamp.utils.structured_negative_sampling`
    with ``index=`` on the batch's positives;
(e) the :class:`~torch_geometric_negsamp.PositiveIndex` build on the
    largest graph: wall time, the index's own bytes, and the peak resident
    memory of a fresh process that builds it (``VmHWM``).

It prints one table with negatives per second and the ratios to both
baselines, checks the targets (uniform filtered sampling at least 30% of
baseline 1 and 30x PyG; the drop-in without an index at least 10x PyG; the
index on 20M edges built in under 10 s and 4 GB) and writes everything to a
JSON file. Usage::

    python benchmarks/bench_sampling.py [--small] [--device cpu|cuda|auto]
        [--out bench_sampling.json] [--min-time 0.3] [--max-repeats 50]
        [--threads N]

On a small machine shared with other work, ``--threads 1`` gives steadier
numbers: with several threads, every parallel kernel waits for its slowest
thread, and a descheduled one costs milliseconds per call.
"""

import argparse
import json
import time

import torch
from _machine import gowalla_train, machine_info, sync
from _sampling_cases import (
    baseline_randint_searchsorted,
    index_build_in_subprocess,
    power_law_graph,
    time_calls,
)
from torch_geometric.utils import negative_sampling as pyg_negative_sampling

from torch_geometric_negsamp import (
    PopularitySampler,
    PositiveIndex,
    UniformSampler,
)
from torch_geometric_negsamp.utils import (
    negative_sampling,
    structured_negative_sampling,
)

BATCH_SIZES = (2048, 65536)


def bench_graph(
    name, edge_index, num_src, num_dst, device, args, rows, builds
):
    print(
        f'\n[{name}] {num_src:,} x {num_dst:,} nodes, '
        f'{edge_index.size(1):,} edges',
        flush=True,
    )
    edge_index = edge_index.to(device)
    big = edge_index.size(1) > 5_000_000
    gen = torch.Generator(device=device).manual_seed(args.seed)

    start = time.perf_counter()
    index = PositiveIndex(edge_index, num_src, num_dst)
    sync(device)
    build = time.perf_counter() - start
    start = time.perf_counter()
    uniform = UniformSampler(generator=gen).fit(edge_index, (num_src, num_dst))
    popularity = PopularitySampler(generator=gen).fit(
        edge_index, (num_src, num_dst)
    )
    sync(device)
    fit = time.perf_counter() - start
    builds[name] = {
        'index_build_s': build,
        'fit_two_samplers_s': fit,
        'num_edges': edge_index.size(1),
    }
    print(
        f'  index build {build:.2f} s; fit of both samplers {fit:.2f} s',
        flush=True,
    )

    for batch in BATCH_SIZES:
        pick = torch.randint(
            edge_index.size(1), (batch,), generator=gen, device=device
        )
        src = edge_index[0, pick]
        pos_edges = edge_index[:, pick]
        methods = [
            (
                'baseline 1: randint + searchsorted',
                lambda: baseline_randint_searchsorted(
                    index.keys, src, num_dst, gen
                ),
                '',
            ),
            (
                'UniformSampler.sample_negatives',
                lambda: uniform.sample_negatives(src, num_neg=1),
                'triplet',
            ),
            (
                'UniformSampler.sample_pairs',
                lambda: uniform.sample_pairs(batch),
                'binary',
            ),
            (
                'PopularitySampler.sample_negatives',
                lambda: popularity.sample_negatives(src, num_neg=1),
                'triplet',
            ),
            (
                'PopularitySampler.sample_pairs',
                lambda: popularity.sample_pairs(batch),
                'binary',
            ),
            (
                'negative_sampling (no index)',
                lambda: negative_sampling(
                    edge_index, (num_src, num_dst), batch, generator=gen
                ),
                'drop-in',
            ),
            (
                'negative_sampling (index=)',
                lambda: negative_sampling(
                    edge_index,
                    (num_src, num_dst),
                    batch,
                    generator=gen,
                    index=index,
                ),
                'drop-in',
            ),
            (
                'structured_negative_sampling (index=)',
                lambda: structured_negative_sampling(
                    pos_edges, (num_src, num_dst), generator=gen, index=index
                ),
                'drop-in',
            ),
        ]
        results = {}
        for label, fn, note in methods:
            sec, calls = time_calls(
                fn, device, args.min_time, args.max_repeats
            )
            results[label] = (sec, calls, note)
        # Baseline 2: PyG re-processes all edges per call.
        if big:
            sec, calls = time_calls(
                lambda: pyg_negative_sampling(
                    edge_index, (num_src, num_dst), batch
                ),
                device,
                0.0,
                1,
                warmup=0,
            )
            note = 'one call, per-negative rate extrapolated'
        else:
            sec, calls = time_calls(
                lambda: pyg_negative_sampling(
                    edge_index, (num_src, num_dst), batch
                ),
                device,
                args.min_time,
                3,
            )
            note = ''
        results['baseline 2: PyG negative_sampling'] = (sec, calls, note)
        base1 = batch / results['baseline 1: randint + searchsorted'][0]
        base2 = batch / results['baseline 2: PyG negative_sampling'][0]
        order = [
            'baseline 1: randint + searchsorted',
            'baseline 2: PyG negative_sampling',
        ] + [m[0] for m in methods[1:]]
        for label in order:
            sec, calls, note = results[label]
            rate = batch / sec
            rows.append(
                {
                    'graph': name,
                    'batch': batch,
                    'method': label,
                    'ms_per_call': 1e3 * sec,
                    'calls_timed': calls,
                    'negatives_per_s': rate,
                    'vs_baseline1': rate / base1,
                    'vs_pyg': rate / base2,
                    'note': note,
                }
            )
            print(
                f'  B={batch:>6}  {label:<40} {1e3 * sec:10.2f} ms  '
                f'{rate:14,.0f}/s  x{rate / base1:7.2f} b1  '
                f'x{rate / base2:9.1f} PyG  {note}',
                flush=True,
            )
    return index


def check_targets(rows, build):
    targets = []

    def rate(row_filter):
        return [r for r in rows if row_filter(r)]

    for r in rate(lambda r: r['method'] == 'UniformSampler.sample_negatives'):
        where = f'{r["graph"]}, B={r["batch"]}'
        targets.append(
            {
                'target': (
                    f'UniformSampler filtered >= 0.3x baseline 1 ({where})'
                ),
                'value': r['vs_baseline1'],
                'threshold': 0.3,
                'pass': r['vs_baseline1'] >= 0.3,
            }
        )
        targets.append(
            {
                'target': f'UniformSampler filtered >= 30x PyG ({where})',
                'value': r['vs_pyg'],
                'threshold': 30.0,
                'pass': r['vs_pyg'] >= 30.0,
            }
        )
    for r in rate(lambda r: r['method'] == 'negative_sampling (no index)'):
        where = f'{r["graph"]}, B={r["batch"]}'
        targets.append(
            {
                'target': (
                    f'negative_sampling without index >= 10x PyG ({where})'
                ),
                'value': r['vs_pyg'],
                'threshold': 10.0,
                'pass': r['vs_pyg'] >= 10.0,
            }
        )
    if build is not None:
        targets.append(
            {
                'target': (
                    f'index build on {build["num_edges"]:,} edges < 10 s'
                ),
                'value': build['seconds'],
                'threshold': 10.0,
                'pass': build['seconds'] < 10.0,
            }
        )
        targets.append(
            {
                'target': (
                    f'index build on {build["num_edges"]:,} edges < 4 GB '
                    '(process peak RSS, GiB)'
                ),
                'value': build['peak_rss_bytes'] / 2**30,
                'threshold': 4.0,
                'pass': build['peak_rss_bytes'] < 4 * 2**30,
            }
        )
    return targets


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--small',
        action='store_true',
        help='100K x 100K nodes, 2M edges synthetic graph',
    )
    parser.add_argument(
        '--device', default='cpu', help="'cpu', 'cuda' or 'auto'"
    )
    parser.add_argument('--out', default='bench_sampling.json')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--min-time',
        type=float,
        default=0.3,
        help='seconds of timed calls per method',
    )
    parser.add_argument('--max-repeats', type=int, default=50)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help="torch CPU threads (default: torch's own)",
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.device == 'auto':
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    info = machine_info(device)
    print('machine:', json.dumps(info), flush=True)
    wall = time.perf_counter()

    rows, builds = [], {}
    edge_index, num_users, num_items = gowalla_train()
    bench_graph(
        'gowalla', edge_index, num_users, num_items, device, args, rows, builds
    )

    size, num_edges = (
        (100_000, 2_000_000) if args.small else (1_000_000, 20_000_000)
    )
    start = time.perf_counter()
    synthetic = power_law_graph(size, size, num_edges, seed=args.seed)
    print(
        f'\nsynthetic graph generated in {time.perf_counter() - start:.1f} s',
        flush=True,
    )
    name = f'power-law {size // 1000}K x {size // 1000}K'
    bench_graph(name, synthetic, size, size, device, args, rows, builds)

    seconds, peak, added, nbytes = index_build_in_subprocess(
        synthetic, size, size
    )
    build = {
        'num_edges': synthetic.size(1),
        'seconds': seconds,
        'peak_rss_bytes': peak,
        'build_added_rss_bytes': added,
        'index_bytes': nbytes,
        'device': 'cpu (fresh process)',
    }
    print(
        f'\nindex build on {synthetic.size(1):,} edges (fresh CPU '
        f'process): {seconds:.2f} s, process peak RSS '
        f'{peak / 2**30:.2f} GiB (+{added / 2**30:.2f} GiB during the '
        f'build), index {nbytes / 2**20:.0f} MiB',
        flush=True,
    )

    print(
        '\n| graph | batch | method | ms/call | negatives/s | vs baseline 1'
        ' | vs PyG | note |'
    )
    print('|---|---:|---|---:|---:|---:|---:|---|')
    for r in rows:
        print(
            f'| {r["graph"]} | {r["batch"]:,} | {r["method"]} | '
            f'{r["ms_per_call"]:.2f} | {r["negatives_per_s"]:,.0f} | '
            f'{r["vs_baseline1"]:.2f} | {r["vs_pyg"]:.1f} | {r["note"]} |'
        )

    targets = check_targets(rows, build)
    print()
    for t in targets:
        print(
            f'{"PASS" if t["pass"] else "FAIL"}  {t["target"]}: '
            f'{t["value"]:.2f} (threshold {t["threshold"]})'
        )
    wall = time.perf_counter() - wall
    print(
        f'\ntotal wall time {wall:.0f} s; machine: {info["processor"]}, '
        f'{info["cpu_count"]} CPUs, torch {info["torch"]}, PyG '
        f'{info["torch_geometric"]}, device {info["device"]}'
    )
    with open(args.out, 'w') as f:
        json.dump(
            {
                'machine': info,
                'small': args.small,
                'graph_builds': builds,
                'index_build_20m': build,
                'rows': rows,
                'targets': targets,
                'wall_s': wall,
            },
            f,
            indent=2,
        )
    print(f'results written to {args.out}')


if __name__ == '__main__':
    main()
