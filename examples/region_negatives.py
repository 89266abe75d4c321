r"""Negatives from k-hop regions in training, on a slice of Gowalla.

Trains LightGCN (or NGCF, PinSage) on a seeded slice of the embedded
Gowalla split once per sampler, with the same seed and schedule:

* ``uniform``: every non-interacted item alike (the baseline);
* ``region``: uniform over the user's intermediate region (items within
  ``--khop`` hops, not adjacent), the three-region principle of Yang et al.
  (IEEE TKDE 2022);
* ``recns``: RecNS-O negatives from the region merged with the RecNS-W item
  of SIMULATED exposures (popularity top-N: Gowalla has no impression
  log), trained with the augmented hinge loss;
* ``mcns``: Metropolis-Hastings chains whose proposal mixes the global
  distribution with the region (Yang et al., KDD 2020).

It prints the region built from the training interactions and, per
sampler, the validation-selected Recall@20 / NDCG@20 on the test split and
the seconds per epoch. A few epochs on a slice rank the samplers only
roughly; ``benchmarks/bench_samplers.py`` compares them properly.

Run::

    python examples/region_negatives.py --users 300 --epochs 5
"""

import argparse
import math
import tempfile

from torch_geometric_negsamp.datasets import load_gowalla
from torch_geometric_negsamp.train import TrainConfig, Trainer

SAMPLERS = ('uniform', 'region', 'recns', 'mcns')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--users', type=int, default=300, help='users in the slice (300)'
    )
    parser.add_argument('--epochs', type=int, default=5, help='epochs (5)')
    parser.add_argument(
        '--encoder', default='lightgcn', help='lightgcn, ngcf or pinsage'
    )
    parser.add_argument('--khop', type=int, default=3, help='k (3)')
    parser.add_argument('--seed', type=int, default=0, help='seed (0)')
    args = parser.parse_args(argv)
    for name in ('users', 'epochs'):
        if getattr(args, name) <= 0:
            parser.error(f'--{name} must be positive')
    split = load_gowalla().subset(args.users, seed=args.seed)
    print(
        f'Gowalla slice: {split.num_users} users, {split.num_items} items, '
        f'{split.num_train} training interactions'
    )
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for sampler in SAMPLERS:
            config = TrainConfig(
                encoder=args.encoder,
                sampler=sampler,
                num_neg=4 if sampler in ('recns', 'mcns') else 1,
                candidates=10,
                khop=args.khop,
                simulate_exposure=20 if sampler == 'recns' else None,
                embedding_dim=32,
                num_layers=2,
                batch_size=1024,
                lr=5e-3,
                epochs=args.epochs,
                eval_every=args.epochs,
                seed=args.seed,
                out_dir=f'{out}/{sampler}',
                progress=False,
                plot=False,
            )
            # The region and the exposure lines of the trainer's log:
            notes = []
            trainer = Trainer(config, log=notes.append, split=split)
            for line in notes:
                if line.startswith(('region:', 'SIMULATED', 'note:')):
                    print(f'  [{sampler}] {line}')
            best = trainer.fit().best
            seconds = trainer.train_seconds / max(trainer.epoch, 1)
            rows.append((sampler, best, seconds))
    print(f'{"sampler":<8} {"Recall@20":>9} {"NDCG@20":>8} {"s/epoch":>8}')
    for sampler, best, seconds in rows:
        recall, ndcg = best['test_recall@20'], best['test_ndcg@20']
        assert math.isfinite(recall) and math.isfinite(ndcg)
        print(f'{sampler:<8} {recall:>9.4f} {ndcg:>8.4f} {seconds:>8.2f}')


if __name__ == '__main__':
    main()
