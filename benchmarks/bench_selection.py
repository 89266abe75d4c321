r"""Candidate scoring of the selectors: per pair, whole batch, in blocks.

Times, on random embeddings of a given size, one selection for a batch of
``B`` positives (``k`` negatives of ``M`` candidates each, ``L + 1``
layers of ``d`` dimensions, ``I`` items); every way chooses the same
candidates bit for bit (checked before timing):

* **per pair** (DENS only; the baseline there, as the reference code
  computes it): every candidate's layers gathered to
  ``[B, k, M, L + 1, d]`` and the candidate gate applied to each (positive,
  candidate) pair (:class:`~torch_geometric_negsamp.select.DENS` called on
  the gathered layers);
* **whole batch** (the baseline for MixGCF, and what both did before):
  :meth:`synthesize` from candidate ids with one block for the whole
  batch (DENS gating each distinct item once);
* **blocks**: :meth:`synthesize` as the training command runs it, scoring
  blocks of positives whose temporaries stay in cache
  (:obj:`torch_geometric_negsamp.select._scoring.BLOCK_ELEMENTS`).

``--selector scores`` times the inner products of the users with their
``k * M`` candidates on the combined embeddings (layer 0 of the random
layers), which the strategies of DNS, softmax, AHNS, SRNS and the cache
score their candidates with (``_scoring.candidate_scores``): whole batch
(the baseline) against blocks.

Runs interleave so that a busy machine slows every way alike; each ratio
is the baseline's median time over the way's. Usage::

    python benchmarks/bench_selection.py                     # DENS, Last.fm
    python benchmarks/bench_selection.py --items 40981       # Gowalla's items
    python benchmarks/bench_selection.py --selector mixgcf --num-neg 8 \
        --candidates 64                       # MixGCF, 8 negatives of 64
    python benchmarks/bench_selection.py --selector scores --candidates 64
"""

import argparse
import json
import statistics
import time

import torch
from _machine import describe, machine_info, sync

from torch_geometric_negsamp.select import DENS, MixGCF, _scoring


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        '--selector', choices=('dens', 'mixgcf', 'scores'), default='dens'
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
    parser.add_argument('--out', default='bench_selection.json')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    info = machine_info(device)
    print(describe(info))
    gen = torch.Generator().manual_seed(args.seed)
    B, k, M = args.batch, args.num_neg, args.candidates
    L1, d = args.layers + 1, args.dim
    torch.manual_seed(args.seed)
    user, pos = (0.1 * torch.randn(B, L1, d, generator=gen) for _ in '12')
    items = 0.1 * torch.randn(args.items, L1, d, generator=gen)
    cand = torch.randint(0, args.items, (B, k, M), generator=gen)
    user, pos, items, cand = (t.to(device) for t in (user, pos, items, cand))
    blocks = _scoring.BLOCK_ELEMENTS

    if args.selector == 'dens':
        dens = DENS(d, warmup=100).to(device)
        epoch = 50  # halfway through the warm-up: both terms of the rule

        def select():
            return dens.synthesize(
                user, pos, items, cand, epoch=epoch, return_ids=True
            )[1]

        def per_pair():
            return cand.gather(2, dens(user, pos, items[cand], epoch=epoch))

        ways = {'per_pair': per_pair}
    elif args.selector == 'mixgcf':

        def select():
            mix = MixGCF(seed=args.seed)
            return mix.synthesize(user, pos, items, cand, return_ids=True)[1]

        ways = {}
    else:
        user0, items0 = user[:, 0].contiguous(), items[:, 0].contiguous()
        flat = cand.view(B, k * M)

        def select():
            return _scoring.candidate_scores(user0, items0, flat)

        ways = {}

    def whole_batch():
        _scoring.BLOCK_ELEMENTS = 2**62
        try:
            return select()
        finally:
            _scoring.BLOCK_ELEMENTS = blocks

    ways.update(whole_batch=whole_batch, blocks=select)
    baseline = next(iter(ways))
    reference = ways[baseline]()
    for name, fn in ways.items():
        if not torch.equal(fn(), reference):
            raise SystemExit(f'{name} chose other candidates than {baseline}')
    times = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, fn in ways.items():
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    ratio = {name: median[baseline] / t for name, t in median.items()}
    print(
        f'{args.selector}: B={B} k={k} M={M} L+1={L1} d={d} I={args.items}, '
        f'median of {args.repeats}'
    )
    for name, t in median.items():
        print(f'  {name:<12} {1000 * t:9.1f} ms  {ratio[name]:5.2f}x')
    report = {
        'machine': info,
        'args': vars(args),
        'baseline': baseline,
        'median_s': median,
        'speedup': ratio,
    }
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=2)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
