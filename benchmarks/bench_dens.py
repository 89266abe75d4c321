r"""DENS's selection: gating each distinct candidate once vs. per pair.

Times, on random embeddings of a given size, one DENS choice for a batch of
positives (``B`` positives, ``k`` negatives of ``M`` candidates, ``L + 1``
layers of ``d`` dimensions, ``I`` items), two ways that choose the same
candidates bit for bit:

(a) **per pair** (the baseline, as the reference code computes it): every
    candidate's layers gathered to ``[B, k, M, L + 1, d]``, the candidate
    gate applied to each (positive, candidate) pair, then scored
    (:class:`~torch_geometric_negsamp.select.DENS` called on the gathered
    layers);
(b) **distinct items** (:meth:`DENS.synthesize`, what ``--sampler dens``
    runs): the gate applied once per distinct candidate item, the scores
    computed in place over blocks of positives.

Runs interleave (a, b, a, b, ...) so that a busy machine slows both alike;
the ratio is the median time of (a) over that of (b). Usage::

    python benchmarks/bench_dens.py                          # Last.fm sizes
    python benchmarks/bench_dens.py --items 40981            # Gowalla's
"""

import argparse
import json
import statistics
import time

import torch
from _machine import describe, machine_info, sync

from torch_geometric_negsamp.select import DENS


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument('--batch', type=int, default=2048)
    parser.add_argument('--num-neg', type=int, default=1)
    parser.add_argument('--candidates', type=int, default=32)
    parser.add_argument('--layers', type=int, default=3)
    parser.add_argument('--dim', type=int, default=64)
    parser.add_argument('--items', type=int, default=4489)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='bench_dens.json')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    info = machine_info(device)
    print(describe(info))
    gen = torch.Generator().manual_seed(args.seed)
    B, k, M = args.batch, args.num_neg, args.candidates
    L1, d = args.layers + 1, args.dim
    torch.manual_seed(args.seed)
    dens = DENS(d, warmup=100).to(device)
    user, pos = (0.1 * torch.randn(B, L1, d, generator=gen) for _ in '12')
    items = 0.1 * torch.randn(args.items, L1, d, generator=gen)
    cand = torch.randint(0, args.items, (B, k, M), generator=gen)
    user, pos, items, cand = (t.to(device) for t in (user, pos, items, cand))
    epoch = 50  # halfway through the warm-up: both terms of the rule

    def per_pair():
        return cand.gather(2, dens(user, pos, items[cand], epoch=epoch))

    def distinct():
        return dens.synthesize(
            user, pos, items, cand, epoch=epoch, return_ids=True
        )[1]

    if not torch.equal(per_pair(), distinct()):
        raise SystemExit('the two ways chose different candidates')
    times = {'per_pair': [], 'distinct': []}
    for _ in range(args.repeats):
        for name, fn in (('per_pair', per_pair), ('distinct', distinct)):
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    ratio = median['per_pair'] / median['distinct']
    print(f'B={B} k={k} M={M} L+1={L1} d={d} I={args.items}')
    for name, t in median.items():
        print(f'  {name:<9} {1000 * t:9.1f} ms (median of {args.repeats})')
    print(f'  per pair / distinct items: {ratio:.2f}x')
    report = {
        'machine': info,
        'args': vars(args),
        'median_s': median,
        'ratio': ratio,
    }
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=2)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
