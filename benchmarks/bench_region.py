r"""k-hop region build on the embedded Gowalla split, against the bare
block loop and the official dense-fold approach.

For k = 3, 5, 7 (bipartite, ``adjacent_hops=1``, training interactions
only), each in a fresh process so that its peak resident memory is its own
(``VmHWM``; ``resource.getrusage`` where that is missing):

(a) the bare block loop: ``Rb @ R^T @ R ...`` (k edges) over blocks of
    2,048 users with ``torch.sparse`` CSR products, no binarisation, no
    storage. For k >= 5 it is run on the first ``--bare-users`` users
    (4,096) and its time extrapolated to all users (labelled so): torch
    2.13's CPU ``csr @ csr`` leaks about 8 bytes per output non-zero, which
    at k >= 5 exhausts a 24 GB machine long before the last block;
(b) :class:`~torch_geometric_negsamp.region.KHopRegion` (exact): build
    time, the time ratio to (a) measured back to back, peak resident
    memory, the stored bytes, the region sizes;
(c) the dense-fold approach of the official RecNS code: ``R[fold] @ R.T @
    R`` in scipy, then ``.toarray()`` of ``n_users / 2 x n_items`` per fold
    (three hops whatever k); measured where its estimated peak fits in half
    the available memory, otherwise estimated from its array sizes;
(d) ``method="walk"`` for k = 3 with ``--walks`` walks per user: time,
    memory and recall against the exact region (walked regions are
    subsets of the exact ones, so recall is the ratio of their sizes),
    pooled over pairs and averaged over users.

It prints a table, checks the targets at k = 3 (at most twice the bare
loop's time, peak RSS at most 2 GB, stored region at most 200 MB), writes a
PNG of the distribution of intermediate-region sizes and a JSON file.
``--quick``: the first 3,000 users (their items only), k = 3 and 5, fewer
walks. Usage::

    python benchmarks/bench_region.py [--quick] [--device cpu|cuda]
        [--ks 3 5 7] [--walks 16 64 256] [--repeats 1] [--threads N]
        [--memory-budget BYTES] [--fold auto|skip]
        [--out bench_region.json] [--png region_sizes.png]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import torch
from _machine import describe, machine_info, peak_rss, sync

BLOCK = 2048
QUICK_USERS = 3000


# ------------------------------------------------------------ children
def load(quick: bool):
    from torch_geometric_negsamp.datasets import load_gowalla

    split = load_gowalla()
    if quick:
        split = split.subset(QUICK_USERS)
    return split.train_index, split.num_users, split.num_items


def child_bare(args, device):
    from torch_geometric_negsamp.region._powers import csr_from_pairs

    edge_index, users, items = load(args.quick)
    edge_index = edge_index.to(device)
    r = csr_from_pairs(edge_index[0], edge_index[1], users, items)
    rt = csr_from_pairs(edge_index[1], edge_index[0], items, users)
    crow, col, value = r.crow_indices(), r.col_indices(), r.values()
    todo = min(users, args.bare_users) if args.k > 3 else users
    before = peak_rss()
    sync(device)
    start = time.perf_counter()
    pairs = 0
    for a in range(0, todo, BLOCK):
        b = min(todo, a + BLOCK)
        lo, hi = int(crow[a]), int(crow[b])
        x = torch.sparse_csr_tensor(
            crow[a : b + 1] - lo, col[lo:hi], value[lo:hi], (b - a, items)
        )
        for m in [rt, r] * ((args.k - 1) // 2):
            x = x @ m
        pairs += x.values().numel()
        del x
    sync(device)
    seconds = time.perf_counter() - start
    return {
        'seconds': seconds,
        'users': todo,
        'seconds_all_users': seconds * users / todo,
        'extrapolated': todo < users,
        'pairs': pairs,
        'rss_before': before,
        'peak_rss': peak_rss(),
    }


def child_region(args, device):
    from torch_geometric_negsamp.region import KHopRegion

    edge_index, users, items = load(args.quick)
    edge_index = edge_index.to(device)
    before = peak_rss()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    start = time.perf_counter()
    region = KHopRegion(
        edge_index,
        (users, items),
        args.k,
        memory_budget=args.memory_budget,
        method=args.method,
        num_walks=args.num_walks,
        seed=0,
    )
    sync(device)
    seconds = time.perf_counter() - start
    sizes = region.sizes().cpu()
    torch.save(sizes, args.sizes)
    out = {
        'seconds': seconds,
        'nbytes': region.nbytes,
        'pairs': int(sizes.sum()),
        'reach_pairs': int(region.reach.count.sum()),
        'median': int(sizes.median()),
        'max': int(sizes.max()),
        'share_of_catalogue': float(sizes.double().mean() / items),
        'bit_rows': region.reach.num_dense_rows,
        'rss_before': before,
        'peak_rss': peak_rss(),
        'stats': region.stats,
    }
    if device.type == 'cuda':
        out['cuda_peak'] = torch.cuda.max_memory_allocated(device)
    return out


def child_fold(args, device):
    import numpy as np
    import scipy.sparse as sp

    edge_index, users, items = load(args.quick)
    u, i = edge_index.numpy()
    r = sp.csr_matrix(
        (np.ones(u.size, dtype=np.float32), (u, i)), shape=(users, items)
    )
    r.sum_duplicates()
    r.data[:] = 1
    before = peak_rss()
    start = time.perf_counter()
    fold = math.ceil(users / 2)
    pairs = 0
    for f in range(2):
        dense = (r[f * fold : (f + 1) * fold] @ r.T @ r).toarray()
        pairs += int(np.count_nonzero(dense))
        del dense
    return {
        'seconds': time.perf_counter() - start,
        'pairs': pairs,
        'fold_array_bytes': fold * items * 4,
        'rss_before': before,
        'peak_rss': peak_rss(),
    }


CHILDREN = {'bare': child_bare, 'region': child_region, 'fold': child_fold}


# -------------------------------------------------------------- parent
def run_child(kind, args, **extra):
    cmd = [sys.executable, os.path.abspath(__file__), '--child', kind]
    cmd += ['--device', args.device, '--threads', str(args.threads)]
    if args.quick:
        cmd.append('--quick')
    if args.memory_budget is not None:
        cmd += ['--memory-budget', str(args.memory_budget)]
    for key, value in extra.items():
        cmd += [f'--{key.replace("_", "-")}', str(value)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {'error': proc.stderr.strip().splitlines()[-3:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mem_available() -> int:
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def plot_sizes(path, sizes_by_k, num_items, quick):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for k, sizes in sizes_by_k.items():
        share = sizes.double() / num_items
        ax.hist(
            share.numpy(),
            bins=60,
            range=(0, 1),
            histtype='step',
            label=f'k = {k} (median {float(share.median()):.1%})',
        )
    ax.set_xlabel('intermediate region, share of the catalogue')
    ax.set_ylabel('users')
    where = f' (first {QUICK_USERS:,} users)' if quick else ''
    ax.set_title(f'k-hop intermediate regions, Gowalla training split{where}')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def fmt_bytes(n):
    return '-' if n is None else f'{n / 2**20:,.0f} MiB'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--ks', type=int, nargs='+', default=None)
    parser.add_argument('--walks', type=int, nargs='+', default=None)
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--memory-budget', type=int, default=None)
    parser.add_argument('--bare-users', type=int, default=4096)
    parser.add_argument('--fold', choices=('auto', 'skip'), default='auto')
    parser.add_argument('--out', default='bench_region.json')
    parser.add_argument('--png', default='region_sizes.png')
    # Child-process options.
    parser.add_argument('--child', choices=tuple(CHILDREN), default=None)
    parser.add_argument('--k', type=int, default=3)
    parser.add_argument('--method', default='exact')
    parser.add_argument('--num-walks', type=int, default=64)
    parser.add_argument('--sizes', default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.child is not None:
        print(json.dumps(CHILDREN[args.child](args, device)))
        return

    ks = args.ks or ([3, 5] if args.quick else [3, 5, 7])
    walks = args.walks or ([16, 64] if args.quick else [16, 64, 256])
    if args.quick:
        args.bare_users = min(args.bare_users, 1024)
    info = machine_info(device)
    print(f'machine: {describe(info)}')
    _, num_users, num_items = load(args.quick)
    report = {
        'machine': info,
        'args': vars(args),
        'num_users': num_users,
        'num_items': num_items,
        'k': {},
    }
    sizes_by_k = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in ks:
            runs = {'bare': [], 'region': []}
            path = os.path.join(tmp, f'sizes_{k}.pt')
            for _ in range(args.repeats):
                runs['bare'].append(
                    run_child('bare', args, k=k, bare_users=args.bare_users)
                )
                runs['region'].append(
                    run_child('region', args, k=k, sizes=path)
                )
            entry = {
                name: min(r, key=lambda o: o.get('seconds', math.inf))
                for name, r in runs.items()
            }
            entry['runs'] = runs
            bare, ours = entry['bare'], entry['region']
            if 'error' not in bare and 'error' not in ours:
                entry['time_ratio'] = (
                    ours['seconds'] / bare['seconds_all_users']
                )
                sizes_by_k[k] = torch.load(path)
            report['k'][k] = entry
            print(f'k={k}: bare {bare}\n      region {ours}', flush=True)

        exact3 = sizes_by_k.get(3)
        report['walk'] = []
        for num_walks in walks if exact3 is not None else []:
            path = os.path.join(tmp, f'walk_{num_walks}.pt')
            out = run_child(
                'region',
                args,
                k=3,
                method='walk',
                num_walks=num_walks,
                sizes=path,
            )
            if 'error' not in out:
                walked = torch.load(path)
                has = exact3 > 0
                out['recall_pairs'] = float(walked.sum() / exact3.sum())
                out['recall_user_mean'] = float(
                    (walked[has].double() / exact3[has]).mean()
                )
            out['num_walks'] = num_walks
            report['walk'].append(out)
            print(f'walk {num_walks}: {out}', flush=True)

    reach3 = report['k'].get(3, {}).get('region', {}).get('reach_pairs')
    fold_rows = math.ceil(num_users / 2)
    fold = {'fold_array_bytes': fold_rows * num_items * 4}
    if reach3 is not None:
        # scipy holds a fold's product (about 28 bytes per non-zero at its
        # peak) and its dense copy.
        fold['estimated_peak'] = fold['fold_array_bytes'] + 28 * reach3 // 2
    if args.fold == 'auto' and fold.get('estimated_peak', math.inf) < (
        mem_available() / 2
    ):
        fold.update(run_child('fold', args))
    else:
        fold['measured'] = False
    report['dense_fold'] = fold
    print(f'dense fold (three hops whatever k): {fold}')

    if sizes_by_k:
        plot_sizes(args.png, sizes_by_k, num_items, args.quick)
        report['png'] = args.png

    print(
        f'\n{"k":>2} {"bare s":>9} {"region s":>9} {"ratio":>6} '
        f'{"region RSS":>11} {"stored":>9} {"pairs":>13} {"median":>7}'
    )
    for k, e in report['k'].items():
        b, o = e['bare'], e['region']
        if 'error' in b or 'error' in o:
            print(f'{k:>2} error: {b.get("error") or o.get("error")}')
            continue
        mark = '*' if b['extrapolated'] else ' '
        print(
            f'{k:>2} {b["seconds_all_users"]:>8.1f}{mark} '
            f'{o["seconds"]:>9.1f} {e["time_ratio"]:>6.2f} '
            f'{fmt_bytes(o["peak_rss"]):>11} {fmt_bytes(o["nbytes"]):>9} '
            f'{o["pairs"]:>13,} {o["median"]:>7,}'
        )
    print('* extrapolated from the first users (the CSR product leaks)')
    e3 = report['k'].get(3)
    if e3 and 'time_ratio' in e3 and not args.quick:
        checks = {
            'time <= 2x bare loop': e3['time_ratio'] <= 2,
            'peak RSS <= 2 GB': e3['region']['peak_rss'] <= 2e9,
            'stored <= 200 MB': e3['region']['nbytes'] <= 200e6,
        }
        report['targets'] = checks
        for name, ok in checks.items():
            print(f'target {name}: {"PASS" if ok else "FAIL"}')
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=1, default=str)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
