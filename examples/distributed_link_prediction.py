r"""Data-parallel link prediction with exact negatives under ``torchrun``.

Every process builds the same small stochastic block model graph (with
:mod:`torch`, nothing is downloaded) and the same
:class:`~torch_geometric.transforms.RandomLinkSplit`; a two-layer GCN with a
dot-product decoder is wrapped in
:class:`~torch.nn.parallel.DistributedDataParallel`, and
:class:`~torch_geometric_negsamp.distributed.DistributedLinkNeighborLoader`
gives each rank its shard of the training links every epoch
(:class:`~torch.utils.data.distributed.DistributedSampler` semantics), with
``k`` filtered negatives per positive from the rank's own stream: never a
training, validation or test edge, although each rank sees only its shard
(the sampler is fitted on all links). The BPR loss is averaged over the
ranks by DDP; rank 0 prints the epochs, the number of false negatives
(summed over the ranks: 0) and the validation / test ROC-AUC.

Run (gloo on the CPU, two processes)::

    torchrun --standalone --nproc_per_node 2 \
        examples/distributed_link_prediction.py

It also runs alone (``python examples/distributed_link_prediction.py``),
as one process.
"""

import argparse
import os
import random
import sys
import time

import torch
from torch.nn.parallel import DistributedDataParallel

# The graph, the model and the metric of the single-process example.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from link_prediction import (  # noqa: E402
    GCN,
    block_model,
    evaluate,
    split_links,
)

from torch_geometric_negsamp import PositiveIndex, UniformSampler  # noqa
from torch_geometric_negsamp.distributed import (  # noqa: E402
    DistributedContext,
    DistributedLinkNeighborLoader,
)
from torch_geometric_negsamp.losses import bpr_loss  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num-nodes', type=int, default=600)
    parser.add_argument('--num-blocks', type=int, default=4)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument(
        '--batch-size',
        type=int,
        default=128,
        help='positives per mini-batch and process (default: 128)',
    )
    parser.add_argument(
        '--num-neg',
        type=int,
        default=4,
        help='negatives per positive (default: 4)',
    )
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    for name in ('num_nodes', 'num_blocks', 'epochs', 'num_neg', 'batch_size'):
        if getattr(args, name) <= 0:
            parser.error(
                f'--{name.replace("_", "-")} must be positive '
                f'(got {getattr(args, name)})'
            )
    return args


def main(argv=None):
    args = parse_args(argv)
    ctx = DistributedContext.from_env()  # gloo when torchrun started us
    say = print if ctx.is_main else (lambda *a, **k: None)

    # The same seed on every rank: the same graph, split and initial
    # weights (DDP broadcasts rank 0's weights anyway).
    # RandomLinkSplit's held-out negatives come from PyG's
    # negative_sampling, which draws with Python's random module:
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    n = args.num_nodes
    data = block_model(
        n,
        args.num_blocks,
        p_in=min(1.0, 40 / n),
        p_out=min(1.0, 4 / n),
        num_features=16,
        generator=torch.Generator().manual_seed(args.seed),
    )
    train_data, val_data, test_data, held_out = split_links(data)
    backend = torch.distributed.get_backend() if ctx.is_distributed else 'none'
    say(
        f'processes: {ctx.world_size} ({backend}) | graph: {n} nodes, '
        f'{data.num_edges // 2} undirected edges | train positives '
        f'{train_data.edge_label_index.size(1)}'
    )
    all_edges = PositiveIndex(data.edge_index, n, undirected=True)

    model = GCN(data.num_features, 64, 32)
    net = DistributedDataParallel(model) if ctx.is_distributed else model
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    loader = DistributedLinkNeighborLoader(
        train_data,
        [10, 10],
        ctx,
        edge_label_index=train_data.edge_label_index,
        batch_size=args.batch_size,
        seed=args.seed,
        neg_sampling=UniformSampler(
            'triplet', amount=args.num_neg, undirected=True
        ),
        extra_positives=held_out,
    )
    start = time.perf_counter()
    for epoch in range(args.epochs):
        loader.set_epoch(epoch)  # the epoch's shard and negative stream
        net.train()
        # positives, false negatives, loss sum, steps (this rank)
        stats = torch.zeros(4, dtype=torch.float64)
        for batch in loader:
            h = net(batch.x, batch.edge_index)
            neg_index = batch.dst_neg_index.view(batch.src_index.numel(), -1)
            src = h[batch.src_index]
            pos = (src * h[batch.dst_pos_index]).sum(-1)
            neg = (src.unsqueeze(1) * h[neg_index]).sum(-1)
            loss = bpr_loss(pos, neg)
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients over the ranks
            optimizer.step()
            u = batch.n_id[batch.src_index].view(-1, 1)
            wrong = all_edges.contains(u, batch.n_id[neg_index]).sum()
            stats += torch.tensor(
                [u.numel(), float(wrong), loss.item(), 1.0],
                dtype=torch.float64,
            )
        ctx.all_reduce_sum(stats)
        say(
            f'epoch {epoch + 1} | loss {stats[2] / stats[3]:.4f} | '
            f'positives {int(stats[0])} over {ctx.world_size} process(es) '
            f'| false negatives: {int(stats[1])}'
        )
    if ctx.is_main:
        print(
            f'{args.epochs} epochs in {time.perf_counter() - start:.1f} s | '
            f'val AUC {evaluate(model, val_data):.4f} | test AUC '
            f'{evaluate(model, test_data):.4f}'
        )
    ctx.barrier()
    # The DDP module goes before its process group (see end_process_group):
    del net
    ctx.shutdown()


if __name__ == '__main__':
    main()
