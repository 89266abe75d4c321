r"""Filtered negative sampling on the embedded Gowalla split.

Fits :class:`UniformSampler` and :class:`PopularitySampler` on the training
interactions of Gowalla (a bipartite user-item graph), draws ``[B, k]``
negatives for a batch of training positives, and checks what the samplers
promise:

* no negative is a training positive (checked with
  :meth:`PositiveIndex.contains`);
* the popularity sampler (``deg ** 0.75``, Mikolov et al., 2013) prefers
  popular items: the mean training degree of its negatives is far above the
  uniform sampler's;
* ``extra_positives`` keeps the held-out test items out of the negatives.

Run::

    python examples/sample_gowalla.py --batch-size 2048 --num-neg 4
"""

import argparse
import time

import torch

from torch_geometric_negsamp import (
    PopularitySampler,
    PositiveIndex,
    UniformSampler,
)
from torch_geometric_negsamp.datasets import load_gowalla


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, 1000 * (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--batch-size',
        type=int,
        default=2048,
        help='positives in the batch (default: 2048)',
    )
    parser.add_argument(
        '--num-neg',
        type=int,
        default=4,
        help='negatives per positive (default: 4)',
    )
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of every draw (default: 0)'
    )
    args = parser.parse_args(argv)
    if args.batch_size <= 0:
        parser.error(f'--batch-size must be positive (got {args.batch_size})')
    if args.num_neg <= 0:
        parser.error(f'--num-neg must be positive (got {args.num_neg})')

    split, ms = timed(load_gowalla)
    U, I = split.num_users, split.num_items
    train, test = split.train_index, split.test_index
    print(f'loaded {split} in {ms:.0f} ms')

    # A batch of training positives (user, item):
    gen = torch.Generator().manual_seed(args.seed)
    batch = torch.randint(train.size(1), (args.batch_size,), generator=gen)
    users, items = train[:, batch]
    B, k = args.batch_size, args.num_neg

    uniform, ms = timed(
        lambda: UniformSampler(amount=k, seed=args.seed).fit(
            train, num_nodes=(U, I)
        )
    )
    print(f'fit {uniform} in {ms:.0f} ms')
    popular, ms = timed(
        lambda: PopularitySampler(amount=k, alpha=0.75, seed=args.seed).fit(
            train, num_nodes=(U, I)
        )
    )
    print(f'fit {popular} in {ms:.0f} ms')

    train_index = PositiveIndex(train, U, I)
    test_index = PositiveIndex(test, U, I)
    degree = torch.bincount(train[1], minlength=I).double()

    print(f'\nnegatives for {B} positives, {k} each:')
    results = {}
    for name, sampler in (('uniform', uniform), ('popularity', popular)):
        neg, ms = timed(lambda s=sampler: s.sample_negatives(users, items))
        assert neg.shape == (B, k)
        false_neg = int(train_index.contains(users.view(-1, 1), neg).sum())
        mean_deg = float(degree[neg].mean())
        results[name] = mean_deg
        print(
            f'  {name:10s} [{B}, {k}] in {ms:6.1f} ms | false negatives: '
            f'{false_neg} | mean item degree {mean_deg:7.1f}'
        )
    print(
        f'  mean degree of all items: {float(degree.mean()):.1f}; the '
        f'popularity sampler draws items '
        f'{results["popularity"] / results["uniform"]:.1f}x as popular'
    )

    # Held-out test items are positives too: without telling the sampler,
    # some negatives are test items; with extra_positives, none is.
    held_out, ms = timed(
        lambda: UniformSampler(amount=k, seed=args.seed).fit(
            train, num_nodes=(U, I), extra_positives=test
        )
    )
    print(
        f'\nfit with extra_positives=test ({split.num_test} pairs) in '
        f'{ms:.0f} ms'
    )
    for name, sampler in (('train only', uniform), ('train + test', held_out)):
        neg = sampler.sample_negatives(users, items)
        hits = int(test_index.contains(users.view(-1, 1), neg).sum())
        print(f'  {name:12s}: negatives that are test items: {hits}')
    neg = held_out.sample_negatives(users, items)
    false_neg = int(
        (
            train_index.contains(users.view(-1, 1), neg)
            | test_index.contains(users.view(-1, 1), neg)
        ).sum()
    )
    print(f'false negatives (train or test) with extra_positives: {false_neg}')


if __name__ == '__main__':
    main()
