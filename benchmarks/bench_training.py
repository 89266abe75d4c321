r"""Training-step speed of LightGCN on Gowalla: PyG's stock loop vs. ours.

Times, on the embedded Gowalla split (29,858 users, 40,981 items, 810,128
training interactions; 1,620,256 adjacency non-zeros), the same number of
training steps over the same batches of positive pairs for:

(a) **stock**: PyG's own loop, as in PyG's :obj:`examples/lightgcn.py`:
    :class:`torch_geometric.nn.models.LightGCN` called on the undirected
    homogeneous :obj:`edge_index` at every step (items offset by the number
    of users), uniform random negative items, its
    :meth:`~torch_geometric.nn.models.LightGCN.recommendation_loss`
    (BPR + L2 on the batch's ego embeddings, :obj:`lambda_reg=1e-4`) and
    :class:`torch.optim.Adam` (:obj:`lr=1e-3`);
(b) **plain rewrite**: the same loss (BPR + L2) over a precomputed normalized
    CSR adjacency with :func:`torch.sparse.mm`, whose autograd backward
    transposes the matrix at every step; uniform negatives;
(c) **ours**: one step of :class:`torch_geometric_negsamp.train.Trainer`
    (:meth:`Trainer.train_step`: loss, backward and Adam step, as
    :meth:`Trainer.train_epoch` runs it): the CSR adjacency with
    :func:`torch_geometric_negsamp.nn.propagate`, whose backward reuses the
    symmetric matrix (:math:`\partial (\mathbf{A}\mathbf{X}) \to
    \mathbf{A}^{\top}\nabla = \mathbf{A}\nabla`), uniform negatives filtered
    against the training positives (exact, so slightly *more* work than
    (a) and (b));
(d) **CUDA graph** (CUDA only, :obj:`--cuda-graph`): the whole step of (c)
    with unfiltered uniform negatives drawn by :func:`torch.randint` inside
    the graph, BPR + L2, and :class:`torch.optim.Adam` with
    :obj:`capturable=True`, captured once with :class:`torch.cuda.CUDAGraph`
    and replayed per batch (the step's few hundred kernel launches become
    one).

It also prints a memory-bandwidth floor per epoch: the bytes that 3 layers
of sparse-dense products move forward and backward, divided by the copy
bandwidth measured in the same run.

Usage::

    python benchmarks/bench_training.py                       # CPU
    python benchmarks/bench_training.py --device cuda --cuda-graph \
        --steps 100 --out bench_training_cuda.json
"""

import argparse
import json
import math
import os
from typing import Dict, List, Optional

import torch
from _machine import machine_info
from _training_steps import (
    build_cuda_graph,
    build_ours,
    build_plain,
    build_stock,
    copy_bandwidth,
    floor_bytes_per_step,
    time_steps,
)

from torch_geometric_negsamp.datasets import load_gowalla

TARGETS = {'cpu': 3.0, 'cuda': 10.0}  # required speed-up of ours over stock


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        '--device', default='cpu', help="'cpu' or 'cuda' (or 'cuda:N')"
    )
    parser.add_argument(
        '--steps',
        type=int,
        default=None,
        help='timed steps per variant (default: 10 on CPU, 100 on CUDA)',
    )
    parser.add_argument(
        '--warmup',
        type=int,
        default=3,
        help='untimed steps per variant before timing',
    )
    parser.add_argument('--batch-size', type=int, default=2048)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument(
        '--reg',
        type=float,
        default=1e-4,
        help='L2 weight (PyG lambda_reg, our reg)',
    )
    parser.add_argument('--dim', type=int, default=64)
    parser.add_argument('--layers', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads', type=int, default=None, help='torch.set_num_threads (CPU)'
    )
    parser.add_argument(
        '--cuda-graph',
        action='store_true',
        help='also time (d), the whole step captured in one '
        'CUDA graph (CUDA only)',
    )
    parser.add_argument(
        '--interleave',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='take turns batch by batch and '
        'time every step (default: on CPU only)',
    )
    parser.add_argument(
        '--skip-stock',
        action='store_true',
        help='do not time (a) (no speed-up is then reported)',
    )
    parser.add_argument(
        '--out', default=None, help='write the results as JSON to this file'
    )
    args = parser.parse_args(argv)
    for name, least in (
        ('warmup', 0),
        ('batch_size', 1),
        ('dim', 1),
        ('layers', 1),
    ):
        value = getattr(args, name)
        if value < least:
            parser.error(
                f'--{name.replace("_", "-")} must be at least '
                f'{least} (got {value})'
            )
    if args.steps is not None and args.steps < 1:
        parser.error(f'--steps must be positive (got {args.steps})')
    try:
        device = torch.device(args.device)
    except RuntimeError as e:
        parser.error(f'--device is not a device: {args.device!r} ({e})')
    if device.type == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device is {args.device!r} but CUDA is not available')
    if device.type not in TARGETS:
        parser.error(
            f'--device must be a CPU or CUDA device (got {args.device!r})'
        )
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    steps = args.steps or (10 if device.type == 'cpu' else 100)
    B = args.batch_size

    info = machine_info(device)
    print('machine: ' + ', '.join(f'{k} {v}' for k, v in info.items()))

    split = load_gowalla()
    U, I = split.num_users, split.num_items
    train_index = split.train_index.to(device)
    num_train = train_index.size(1)
    if B > num_train:
        parser.error(
            f'--batch-size must be at most the number of training '
            f'pairs, {num_train} (got {B})'
        )
    steps_per_epoch = math.ceil(num_train / B)
    generator = torch.Generator().manual_seed(args.seed)
    perm = torch.randperm(num_train, generator=generator)
    needed = args.warmup + steps
    # Full batches only (the CUDA graph takes a fixed shape), cycling through
    # the epoch's permutation if more batches are asked for than it holds.
    batches = [
        perm[(i % (num_train // B)) * B : (i % (num_train // B) + 1) * B].to(
            device
        )
        for i in range(needed)
    ]

    step_ours, trainer = build_ours(
        split, B, args.lr, args.dim, args.layers, args.seed, device
    )
    adj = trainer.model.adj
    nnz, N = adj._nnz(), U + I
    print(
        f'graph: Gowalla, {U} users, {I} items, {num_train} training '
        f'pairs, {nnz} adjacency non-zeros; {args.layers} layers x '
        f'{args.dim} dims; batch {B} -> {steps_per_epoch} steps per epoch; '
        f'{args.warmup} warm-up + {steps} timed steps per variant'
    )

    bandwidth = copy_bandwidth(device)
    step_bytes = floor_bytes_per_step(nnz, N, args.dim, args.layers)
    floor_epoch = step_bytes * steps_per_epoch / bandwidth
    print(
        f'copy bandwidth (read + write, 256 MB copy_): '
        f'{bandwidth / 1e9:.1f} GB/s; bytes per step (SpMM fwd + bwd): '
        f'{step_bytes / 1e9:.2f} GB -> floor {floor_epoch:.2f} s per '
        f'epoch ({floor_epoch / steps_per_epoch * 1e3:.1f} ms per step)'
    )

    variants = []
    if not args.skip_stock:
        variants.append(
            (
                'stock',
                '(a) PyG stock loop',
                build_stock(
                    U,
                    I,
                    train_index,
                    args.lr,
                    args.dim,
                    args.layers,
                    args.seed,
                    device,
                ),
            )
        )
    plain, _ = build_plain(
        U,
        I,
        train_index,
        args.lr,
        args.dim,
        args.layers,
        args.reg,
        args.seed,
        device,
    )
    variants.append(('plain', '(b) plain rewrite (sparse.mm)', plain))
    variants.append(('ours', '(c) ours (Trainer step)', step_ours))
    graph_error = None
    if args.cuda_graph:
        if device.type != 'cuda' or not torch.cuda.is_available():
            graph_error = 'needs --device cuda'
            print(f'(d) CUDA graph: skipped ({graph_error})')
        else:
            try:
                step_graph = build_cuda_graph(
                    U,
                    I,
                    train_index,
                    B,
                    args.lr,
                    args.dim,
                    args.layers,
                    args.reg,
                    args.seed,
                    device,
                    batches[: args.warmup or 1],
                )
                variants.append(
                    ('cuda_graph', '(d) ours, CUDA graph', step_graph)
                )
            except Exception as e:  # report why and go on
                graph_error = f'{type(e).__name__}: {e}'
                print(f'(d) CUDA graph: capture failed ({graph_error})')

    interleave = (
        device.type == 'cpu' if args.interleave is None else args.interleave
    )
    labels = {key: label for key, label, _ in variants}
    steps_by_key = {key: step for key, _, step in variants}
    try:
        results = time_steps(
            steps_by_key, batches, train_index, args.warmup, device, interleave
        )
    except Exception as e:
        if 'cuda_graph' not in steps_by_key:
            raise
        # Replaying the captured graph failed: report why, time the rest.
        graph_error = f'{type(e).__name__}: {e}'
        print(f'{labels.pop("cuda_graph")}: replay failed ({graph_error})')
        steps_by_key.pop('cuda_graph')
        results = time_steps(
            steps_by_key, batches, train_index, args.warmup, device, interleave
        )
    for key, res in results.items():
        res['epoch_s'] = res['mean_step_s'] * steps_per_epoch
        res['label'] = labels[key]

    base = results.get('stock')
    header = (
        f'{"variant":34s} {"s/step":>9s} {"median":>9s} '
        f'{"s/epoch":>9s} {"speed-up":>9s} {"x floor":>8s} '
        f'{"last loss":>9s}'
    )
    print(header)
    print('-' * len(header))
    for res in results.values():
        if base is not None:
            res['speedup_vs_stock'] = base['mean_step_s'] / res['mean_step_s']
        res['times_floor'] = res['epoch_s'] / floor_epoch
        med = res.get('median_step_s')
        med = '-' if med is None else f'{med:.4f}'
        gain = res.get('speedup_vs_stock')
        gain = '-' if gain is None else f'{gain:.2f}x'
        print(
            f'{res["label"]:34s} {res["mean_step_s"]:9.4f} {med:>9s} '
            f'{res["epoch_s"]:9.2f} {gain:>9s} '
            f'{res["times_floor"]:7.1f}x {res["last_loss"]:9.4f}'
        )

    target = TARGETS[device.type]
    verdict = None
    if base is not None:
        # The target is about our training step, plain or captured:
        best_key = min(
            (k for k in ('ours', 'cuda_graph') if k in results),
            key=lambda k: results[k]['mean_step_s'],
        )
        best = results[best_key]
        speedup = results['ours']['speedup_vs_stock']
        verdict = 'PASS' if best['speedup_vs_stock'] >= target else 'FAIL'
        print(
            f'ours (Trainer step) vs stock: {speedup:.2f}x; fastest '
            f'{best["label"]}: {best["speedup_vs_stock"]:.2f}x; target on '
            f'{device.type} >= {target:.0f}x: {verdict}'
        )
        print(
            f'floor {floor_epoch:.2f} s per epoch; reached '
            f'{best["epoch_s"]:.2f} s per epoch '
            f'({best["epoch_s"] / floor_epoch:.1f}x the floor); stock '
            f'{base["epoch_s"]:.2f} s'
        )

    report = {
        'machine': info,
        'config': {
            'batch_size': B,
            'steps': steps,
            'warmup': args.warmup,
            'lr': args.lr,
            'reg': args.reg,
            'dim': args.dim,
            'layers': args.layers,
            'seed': args.seed,
            'cuda_graph': args.cuda_graph,
            'interleave': interleave,
        },
        'graph': {
            'num_users': U,
            'num_items': I,
            'num_train': num_train,
            'nnz': nnz,
            'steps_per_epoch': steps_per_epoch,
        },
        'floor': {
            'bandwidth_gb_s': bandwidth / 1e9,
            'bytes_per_step': step_bytes,
            'epoch_s': floor_epoch,
        },
        'results': results,
        'target_speedup': target,
        'verdict': verdict,
        'cuda_graph_error': graph_error,
        'load_average_after': [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, 'getloadavg')
        else None,
    }
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)
        print(f'wrote {args.out}')
    return report


if __name__ == '__main__':
    main()
