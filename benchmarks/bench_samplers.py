r"""Negative samplers compared at equal epochs: quality and cost.

Trains the same encoder on the same data with the same seed and schedule
once per sampler, and reports Recall@20 / NDCG@20 early in training and at
the checkpoint chosen on the validation split, plus seconds per epoch, in a
table, a JSON file and a PNG.

Targets (issue "model-aware negatives"): DNS and MixGCF beat uniform by at
least 15% relative Recall@20 at the early epoch; the hard samplers cost at
most 30% more time per epoch than uniform.

Full setting (a GPU; the whole Gowalla split, the LightGCN paper schedule):

    python benchmarks/bench_samplers.py --device cuda --subset-users 0 \
        --batch-size 2048 --lr 1e-3 --epochs 400 --eval-every 10 \
        --early-epoch 30

Reduced CPU setting (the default: 3,000 Gowalla users, batch 512, lr 1e-3,
16 epochs, early comparison at epoch 8; about 20 minutes on 2 cores):

    python benchmarks/bench_samplers.py

The samplers on k-hop regions (issue 9) against uniform, DNS and MixGCF at
equal epochs, with any of the three encoders (``--samplers regions`` names
uniform, region, recns, mcns, dns and mixgcf):

    python benchmarks/bench_samplers.py --samplers regions --encoder ngcf

``recns`` runs in its RecNS-O form (no exposure data: Gowalla has no
impression log; ``--simulate-exposure N`` adds SIMULATED popularity
exposures) with the paper's augmented hinge loss, which it always trains
with; every other sampler trains with BPR. Smallest run, to check that it
works (its figures mean nothing):

    python benchmarks/bench_samplers.py --samplers regions --subset-users 200 \
        --epochs 2 --eval-every 1 --early-epoch 1 --timing-subset-users 200 \
        --timing-steps 2 --out bench_out/samplers_tiny
"""

import argparse
import json
import os
import sys
import time

import torch
from _machine import describe, machine_info

from torch_geometric_negsamp.datasets import load_gowalla
from torch_geometric_negsamp.train import TrainConfig, Trainer
from torch_geometric_negsamp.train.config import SIZE_FIELDS

HARD = ('dns', 'softmax', 'mixgcf', 'cache')

#: Named sets of samplers for ``--samplers``.
GROUPS = {'regions': 'uniform,region,recns,mcns,dns,mixgcf'}

#: The flags of the samplers on k-hop regions, as fields of TrainConfig.
REGION_FLAGS = ('khop', 'distant_share', 'simulate_exposure')


def make_config(args, sampler: str) -> TrainConfig:
    r"""The one configuration every sampler is trained with."""
    # Each of the four sizes under its own name, as the trainer passes them:
    sizes = {name: getattr(args, name) for name in SIZE_FIELDS}
    return TrainConfig(
        encoder=args.encoder,
        sampler=sampler,
        **sizes,
        **{name: getattr(args, name) for name in REGION_FLAGS},
        temperature=args.temperature,
        embedding_dim=args.embedding_dim,
        num_layers=args.layers,
        lr=args.lr,
        batch_size=args.batch_size,
        reg=args.reg,
        epochs=args.epochs,
        eval_every=args.eval_every,
        eval_batch_size=2048,
        device=args.device,
        seed=args.seed,
        out_dir=os.path.join(args.out, sampler),
        progress=False,
        plot=False,
        loss='bpr',
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--samplers', default='uniform,popularity,dns,softmax,mixgcf,inbatch'
    )
    p.add_argument('--encoder', default='lightgcn')
    p.add_argument(
        '--subset-users',
        type=int,
        default=3000,
        help='users in the Gowalla slice (0: all)',
    )
    p.add_argument('--epochs', type=int, default=16)
    p.add_argument('--eval-every', type=int, default=4)
    p.add_argument(
        '--early-epoch',
        type=int,
        default=8,
        help='epoch at which the early Recall@20 is compared',
    )
    p.add_argument('--batch-size', type=int, default=512)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--reg', type=float, default=1e-4)
    p.add_argument(
        '--candidates',
        type=int,
        default=32,
        help='candidate pool M of dns, softmax and mixgcf',
    )
    p.add_argument(
        '--cache-size', type=int, default=32, help='per-user cache of cache'
    )
    p.add_argument(
        '--queue-size', type=int, default=32, help='queue length of queue'
    )
    p.add_argument(
        '--mixed-negatives',
        type=int,
        default=32,
        help='uniform items mixed into the in-batch negatives of inbatch',
    )
    p.add_argument('--temperature', type=float, default=0.5)
    p.add_argument('--embedding-dim', type=int, default=64)
    p.add_argument('--layers', type=int, default=3)
    p.add_argument(
        '--timing-steps',
        type=int,
        default=10,
        help='interleaved steps per sampler for the cost figures',
    )
    p.add_argument(
        '--timing-subset-users',
        type=int,
        default=0,
        help='users of the graph the cost is measured on (0: the '
        'whole Gowalla split, where the step cost is realistic)',
    )
    p.add_argument('--device', default='cpu')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='bench_out/samplers')
    # The samplers on k-hop regions (region, recns, mcns):
    p.add_argument('--khop', type=int, default=3, help='hops of the region')
    p.add_argument(
        '--distant-share',
        type=float,
        default=0.0,
        help='share of region (and recns pool) draws from the distant region',
    )
    p.add_argument(
        '--simulate-exposure',
        type=int,
        default=None,
        help='recns: SIMULATED popularity top-N exposures (default: none, '
        'RecNS-O)',
    )
    args = p.parse_args(argv)
    args.samplers = GROUPS.get(args.samplers, args.samplers)
    if args.early_epoch > args.epochs:
        p.error("'--early-epoch' must be at most '--epochs'")

    device = torch.device(args.device)
    full = load_gowalla()
    split = (
        full.subset(args.subset_users, seed=args.seed)
        if args.subset_users
        else full
    )
    timing_split = (
        full.subset(args.timing_subset_users, seed=args.seed)
        if args.timing_subset_users
        else full
    )
    samplers = [s.strip() for s in args.samplers.split(',') if s.strip()]
    if args.early_epoch % args.eval_every:
        p.error("'--early-epoch' must be a multiple of '--eval-every'")
    os.makedirs(args.out, exist_ok=True)
    info = machine_info(device)
    print(f'machine: {describe(info)}')
    print(
        f'data: {split.num_users} users, {split.num_items} items, '
        f'{split.num_train} training interactions; {args.encoder}, '
        f'{args.epochs} epochs of batch {args.batch_size}, lr {args.lr}, '
        f'reg {args.reg}, {args.candidates} candidates',
        flush=True,
    )

    runs = {}
    for name in samplers:
        config = make_config(args, name)
        start = time.monotonic()
        trainer = Trainer(config, log=lambda line: None, split=split)
        result = trainer.fit()
        history = result.history
        early = next(h for h in history if h['epoch'] == args.early_epoch)
        runs[name] = {
            'wall_seconds_per_epoch': trainer.train_seconds / args.epochs,
            'early': early,
            'best': result.best,
            'history': history,
            'loss': trainer.loss_name,
        }
        print(
            f'{name:>10}: recall@20 at epoch {args.early_epoch} '
            f'{early["test_recall@20"]:.4f}, best (val-selected) test '
            f'recall@20 {result.best["test_recall@20"]:.4f} '
            f'[{time.monotonic() - start:.0f} s]',
            flush=True,
        )

    # Cost: fresh trainers take turns step by step on the same batches, so
    # that a change in the machine's load hits every sampler alike; the
    # median step time times the steps of an epoch is the epoch time. It is
    # measured on the whole graph by default: on a small slice the
    # propagation is so cheap that fixed per-step costs dominate.
    trainers = {}
    for name in runs:
        config = make_config(args, name)
        trainers[name] = Trainer(
            config, log=lambda line: None, split=timing_split
        )
        trainers[name].model.train()
        trainers[name]._reseed(0)
    gen = torch.Generator().manual_seed(args.seed)
    train_index = next(iter(trainers.values())).train_index
    times = {name: [] for name in trainers}
    for step in range(args.timing_steps + 2):
        idx = torch.randint(
            train_index.size(1), (args.batch_size,), generator=gen
        ).to(train_index.device)
        users, pos = train_index[0, idx], train_index[1, idx]
        for name, trainer in trainers.items():
            if device.type == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
            trainer.train_step(users, pos)
            if device.type == 'cuda':
                torch.cuda.synchronize()
            if step >= 2:  # warm-up
                times[name].append(time.perf_counter() - start)
    steps_per_epoch = -(-train_index.size(1) // args.batch_size)
    for name, run in runs.items():
        median = sorted(times[name])[len(times[name]) // 2]
        run['seconds_per_step'] = median
        run['seconds_per_epoch'] = median * steps_per_epoch

    base = runs.get('uniform')
    print()
    print(
        f'| sampler | loss | s/epoch | x uniform | Recall@20 @ep'
        f'{args.early_epoch} | vs uniform | NDCG@20 @ep{args.early_epoch} '
        f'| best epoch | Recall@20 (selected) | NDCG@20 (selected) |'
    )
    print('|---|---|---|---|---|---|---|---|---|---|')
    checks = []
    for name, run in runs.items():
        early, best = run['early'], run['best']
        t_ratio = (
            run['seconds_per_epoch'] / base['seconds_per_epoch']
            if base
            else float('nan')
        )
        gain = (
            early['test_recall@20'] / base['early']['test_recall@20'] - 1
            if base
            else float('nan')
        )
        print(
            f'| {name} | {run["loss"]} | {run["seconds_per_epoch"]:.2f} | '
            f'{t_ratio:.2f} | {early["test_recall@20"]:.4f} | '
            f'{gain:+.1%} | {early["test_ndcg@20"]:.4f} | {best["epoch"]} '
            f'| {best["test_recall@20"]:.4f} | {best["test_ndcg@20"]:.4f} |'
        )
        run['time_ratio'], run['early_gain'] = t_ratio, gain
        if base and name in ('dns', 'mixgcf'):
            checks.append(
                (f'{name}: early Recall@20 >= +15% over uniform', gain >= 0.15)
            )
        if base and name in HARD:
            checks.append(
                (f'{name}: time per epoch <= 1.3x uniform', t_ratio <= 1.3)
            )
    print()
    for label, ok in checks:
        print(f'{"PASS" if ok else "FAIL"}  {label}')

    with open(os.path.join(args.out, 'results.json'), 'w') as f:
        json.dump(
            {'machine': info, 'args': vars(args), 'runs': runs}, f, indent=2
        )
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib is not installed: no PNG', file=sys.stderr)
        return 0
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, run in runs.items():
        epochs = [h['epoch'] for h in run['history']]
        axes[0].plot(
            epochs,
            [h['test_recall@20'] for h in run['history']],
            marker='o',
            label=name,
        )
        axes[1].plot(
            epochs,
            [h['test_ndcg@20'] for h in run['history']],
            marker='o',
            label=name,
        )
    for ax, metric in zip(axes, ('Recall@20', 'NDCG@20')):
        ax.set_xlabel('epoch')
        ax.set_ylabel(f'test {metric}')
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(
        f'{args.encoder} on Gowalla'
        f'{"" if not args.subset_users else f" ({split.num_users} users)"}'
        f': negative samplers at equal epochs'
    )
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, 'samplers.png'), dpi=100)
    print(f'wrote {os.path.join(args.out, "samplers.png")} and results.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
