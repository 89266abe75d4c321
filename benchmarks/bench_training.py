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
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch
from _machine import machine_info
from torch import Tensor
from torch_geometric.nn.models import LightGCN as PyGLightGCN
from torch_geometric.utils import to_undirected

from torch_geometric_negsamp.datasets import load_gowalla
from torch_geometric_negsamp.losses import bpr_loss, l2_regularization
from torch_geometric_negsamp.nn import LightGCN, normalized_adjacency
from torch_geometric_negsamp.train.trainer import TrainConfig, Trainer

TARGETS = {'cpu': 3.0, 'cuda': 10.0}  # required speed-up of ours over stock


def sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def copy_bandwidth(
    device: torch.device, megabytes: int = 256, repeats: int = 5
) -> float:
    r"""Best-of-:obj:`repeats` bandwidth of copying a :obj:`megabytes`
    float32 tensor into a preallocated one (:obj:`y.copy_(x)`), in bytes per
    second, counting the read and the write (2 x the tensor size per copy).
    The destination is preallocated so that the first-touch page faults of
    a fresh CPU allocation (which :obj:`x.clone()` pays at every call on a
    CPU) are not counted."""
    x = torch.ones(megabytes * 2**20 // 4, device=device)
    y = torch.zeros_like(x)
    y.copy_(x)  # warm-up
    best = math.inf
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        y.copy_(x)
        sync(device)
        best = min(best, time.perf_counter() - start)
    del x, y
    return 2 * megabytes * 2**20 / best


def floor_bytes_per_step(
    nnz: int, num_nodes: int, dim: int, num_layers: int
) -> int:
    r"""Bytes moved by :obj:`num_layers` CSR sparse-dense products forward
    and as many backward: per product, the CSR values and column indices
    (:obj:`nnz * (4 + 8)`), one gathered row of :obj:`dim` floats per
    non-zero (:obj:`nnz * dim * 4`) and the written output
    (:obj:`num_nodes * dim * 4`). Everything else (row pointers, the
    embedding table, Adam's state, the batch) is left out, so this is a
    lower bound."""
    per_product = nnz * (4 + 8) + nnz * dim * 4 + num_nodes * dim * 4
    return 2 * num_layers * per_product


def time_steps(
    steps: Dict[str, Callable[[Tensor, Tensor], Tensor]],
    batches: List[Tensor],
    train_index: Tensor,
    warmup: int,
    device: torch.device,
    interleave: bool,
) -> Dict[str, Dict[str, object]]:
    r"""Runs every :obj:`step(users, pos)` on the first :obj:`warmup`
    batches untimed, then on the remaining ones timed.

    With :obj:`interleave` (the CPU default), the variants take turns batch
    by batch and every step is timed on its own, so that a change in the
    machine's load during the run hits all of them alike. Otherwise (CUDA),
    each variant runs all its batches in a row and only the total is timed,
    with one synchronization at each end, so that the host runs ahead of the
    device as in a real training loop."""

    def run(step, idx):
        return step(train_index[0, idx], train_index[1, idx])

    timed = batches[warmup:]
    per_step: Dict[str, List[float]] = {key: [] for key in steps}
    total: Dict[str, float] = {}
    last: Dict[str, Tensor] = {}
    if interleave:
        for idx in batches[:warmup]:
            for step in steps.values():
                run(step, idx)
        for idx in timed:
            for key, step in steps.items():
                sync(device)
                start = time.perf_counter()
                last[key] = run(step, idx)
                sync(device)
                per_step[key].append(time.perf_counter() - start)
        total = {key: sum(times) for key, times in per_step.items()}
    else:
        for key, step in steps.items():
            for idx in batches[:warmup]:
                run(step, idx)
            sync(device)
            start = time.perf_counter()
            for idx in timed:
                last[key] = run(step, idx)
            sync(device)
            total[key] = time.perf_counter() - start
            if device.type == 'cuda':
                torch.cuda.empty_cache()
    out = {}
    for key in steps:
        res = {
            'steps': len(timed),
            'total_s': total[key],
            'mean_step_s': total[key] / len(timed),
            'last_loss': float(last[key].detach()),
        }
        if per_step[key]:
            res['median_step_s'] = statistics.median(per_step[key])
            res['min_step_s'] = min(per_step[key])
        out[key] = res
    return out


def build_stock(
    num_users: int,
    num_items: int,
    train_index: Tensor,
    lr: float,
    dim: int,
    num_layers: int,
    seed: int,
    device: torch.device,
):
    r"""PyG's example loop (examples/lightgcn.py), step for step."""
    num_nodes = num_users + num_items
    # The homogeneous graph: items offset by the number of users.
    train_edge_label_index = torch.stack(
        [train_index[0], train_index[1] + num_users]
    )
    edge_index = to_undirected(train_edge_label_index, num_nodes=num_nodes)
    torch.manual_seed(seed)
    model = PyGLightGCN(
        num_nodes, embedding_dim=dim, num_layers=num_layers
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator(device=device).manual_seed(seed + 1)

    def step(users: Tensor, pos: Tensor) -> Tensor:
        pos_edge_label_index = torch.stack([users, pos + num_users])
        neg_edge_label_index = torch.stack(
            [
                pos_edge_label_index[0],
                torch.randint(
                    num_users,
                    num_nodes,
                    (users.numel(),),
                    device=device,
                    generator=generator,
                ),
            ],
            dim=0,
        )
        edge_label_index = torch.cat(
            [pos_edge_label_index, neg_edge_label_index], dim=1
        )
        optimizer.zero_grad()
        pos_rank, neg_rank = model(edge_index, edge_label_index).chunk(2)
        loss = model.recommendation_loss(
            pos_rank, neg_rank, node_id=edge_label_index.unique()
        )
        loss.backward()
        optimizer.step()
        return loss

    return step


def build_plain(
    num_users: int,
    num_items: int,
    train_index: Tensor,
    lr: float,
    dim: int,
    num_layers: int,
    reg: float,
    seed: int,
    device: torch.device,
):
    r"""The same loss as ours, over a precomputed normalized CSR adjacency
    with :func:`torch.sparse.mm` and autograd's own backward."""
    adj = normalized_adjacency(train_index, num_users, num_items)
    torch.manual_seed(seed)
    embedding = torch.nn.Embedding(num_users + num_items, dim).to(device)
    torch.nn.init.normal_(embedding.weight, std=0.1)
    optimizer = torch.optim.Adam(embedding.parameters(), lr=lr)
    generator = torch.Generator(device=device).manual_seed(seed + 2)
    U = num_users

    def step(users: Tensor, pos: Tensor) -> Tensor:
        neg = torch.randint(
            0, num_items, (users.numel(),), device=device, generator=generator
        )
        x0 = embedding.weight
        x, out = x0, x0
        for _ in range(num_layers):
            x = torch.sparse.mm(adj, x)
            out = out + x
        out = out / (num_layers + 1)
        user_emb = out[users]
        loss = bpr_loss(
            (user_emb * out[U + pos]).sum(-1),
            (user_emb * out[U + neg]).sum(-1),
        )
        loss = loss + reg * l2_regularization(
            x0[users], x0[U + pos], x0[U + neg], batch_size=users.numel()
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    return step, adj


def build_ours(
    split,
    batch_size: int,
    lr: float,
    dim: int,
    num_layers: int,
    seed: int,
    device: torch.device,
):
    config = TrainConfig(
        batch_size=batch_size,
        lr=lr,
        embedding_dim=dim,
        num_layers=num_layers,
        val_fraction=0,
        select_on='test',
        device=str(device),
        seed=seed,
        progress=False,
        plot=False,
    )
    trainer = Trainer(config, log=lambda line: None, split=split)

    return trainer.train_step, trainer


def build_cuda_graph(
    num_users: int,
    num_items: int,
    train_index: Tensor,
    batch_size: int,
    lr: float,
    dim: int,
    num_layers: int,
    reg: float,
    seed: int,
    device: torch.device,
    warmup_batches: List[Tensor],
):
    r"""Captures one whole training step in a CUDA graph, following the
    whole-network capture recipe of the PyTorch documentation (CUDA
    semantics, "Whole-network capture"): warm up on a side stream, set the
    gradients to :obj:`None`, capture forward + backward +
    :obj:`optimizer.step()` (Adam with :obj:`capturable=True`), then per
    batch copy the new ids into the static inputs and replay.

    Returns a :obj:`step(users, pos)` for :func:`time_steps`; every batch
    must hold exactly :obj:`batch_size` pairs."""
    model = LightGCN(
        num_users, num_items, dim, num_layers, train_index=train_index
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, capturable=True)
    U = num_users
    static_users = torch.zeros(batch_size, dtype=torch.long, device=device)
    static_pos = torch.zeros(batch_size, dtype=torch.long, device=device)
    # Random numbers inside a graph come from the default CUDA generator,
    # whose seed/offset PyTorch registers with the graph so that each replay
    # draws fresh numbers; a private torch.Generator would have to be
    # registered with the graph explicitly (not available on every
    # supported torch version), so the stream is seeded here instead.
    torch.cuda.manual_seed(seed + 3)

    def forward_backward() -> Tensor:
        neg = torch.randint(0, num_items, (batch_size,), device=device)
        layers = model.layer_embeddings()
        final = model.combine_layers(layers)
        user_emb = final[static_users]
        loss = bpr_loss(
            model.score(user_emb, final[U + static_pos]),
            model.score(user_emb, final[U + neg]),
        )
        u0, p0 = model.reg_embeddings(static_users, static_pos)
        n0 = model.reg_embeddings(static_users, neg)[1]
        loss = loss + reg * l2_regularization(
            u0, p0, n0, batch_size=batch_size
        )
        loss.backward()
        return loss

    # Warm-up on a side stream (builds the cuSPARSE / cuBLAS handles and
    # workspaces, autograd's and Adam's state outside the capture, as the
    # documentation requires); the capture then runs on that same stream, so
    # no library handle is created lazily mid-capture.
    side = torch.cuda.Stream(device=device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for idx in warmup_batches:
            static_users.copy_(train_index[0, idx])
            static_pos.copy_(train_index[1, idx])
            optimizer.zero_grad(set_to_none=True)
            forward_backward()
            optimizer.step()
    torch.cuda.current_stream(device).wait_stream(side)

    graph = torch.cuda.CUDAGraph()
    # The captured backward allocates .grad from the graph's private pool;
    # each replay refills those same tensors (no accumulation).
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph, stream=side):
        static_loss = forward_backward()
        optimizer.step()

    def step(users: Tensor, pos: Tensor) -> Tensor:
        if users.numel() != batch_size:
            raise ValueError(
                f'the captured graph takes batches of exactly '
                f'{batch_size} pairs (got {users.numel()})'
            )
        static_users.copy_(users)
        static_pos.copy_(pos)
        graph.replay()
        return static_loss

    return step


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
