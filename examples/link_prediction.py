r"""Homogeneous link prediction the PyG way, with exact negatives.

A small stochastic block model graph (built with :mod:`torch`, nothing is
downloaded) is split by :class:`~torch_geometric.transforms.RandomLinkSplit`
*without* training negatives; :class:`AddNegativeSamples` then draws fresh
negatives every epoch, never a training edge and never a validation or test
edge (``extra_positives``). A two-layer GCN (Kipf and Welling, 2017) with a
dot-product decoder is trained full-graph with binary cross-entropy, and the
validation / test ROC-AUC are reported.

The second part trains the same model for one epoch on mini-batches from
:class:`torch_geometric_negsamp.loader.LinkNeighborLoader` in triplet mode
(``k`` negatives per positive, BPR loss), which draws filtered negatives
per positive inside the loader.

Run::

    python examples/link_prediction.py --epochs 50
"""

import argparse
import random
import time

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.transforms import RandomLinkSplit
from torch_geometric.utils import to_undirected

from torch_geometric_negsamp import PositiveIndex, UniformSampler
from torch_geometric_negsamp.loader import LinkNeighborLoader
from torch_geometric_negsamp.losses import bpr_loss
from torch_geometric_negsamp.transforms import AddNegativeSamples


def block_model(
    num_nodes: int,
    num_blocks: int,
    p_in: float,
    p_out: float,
    num_features: int,
    generator: torch.Generator,
) -> Data:
    r"""An undirected stochastic block model graph whose node features are
    a noisy, randomly projected one-hot encoding of the block."""
    block = torch.arange(num_nodes) * num_blocks // num_nodes
    row, col = torch.triu_indices(num_nodes, num_nodes, offset=1)
    prob = torch.where(block[row] == block[col], p_in, p_out)
    keep = torch.rand(row.numel(), generator=generator) < prob
    edge_index = to_undirected(
        torch.stack([row[keep], col[keep]]), num_nodes=num_nodes
    )
    proj = torch.randn(num_blocks, num_features, generator=generator)
    x = proj[block] + torch.randn(num_nodes, num_features, generator=generator)
    return Data(x=x, edge_index=edge_index, num_nodes=num_nodes)


class GCN(torch.nn.Module):
    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden)
        self.conv2 = GCNConv(hidden, out_channels)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.conv2(self.conv1(x, edge_index).relu(), edge_index)


def roc_auc(scores: Tensor, labels: Tensor) -> float:
    r"""ROC-AUC by the Mann-Whitney rank statistic, ties sharing their
    average rank (computed with torch so that scikit-learn is not
    needed)."""
    _, inverse, counts = torch.unique(
        scores, return_inverse=True, return_counts=True
    )
    end = counts.cumsum(0).double()  # 1-based rank of each value's last copy
    rank = (end - (counts.double() - 1) / 2)[inverse]
    pos = labels.bool()
    num_pos, num_neg = int(pos.sum()), int((~pos).sum())
    if num_pos == 0 or num_neg == 0:
        raise ValueError(
            f"'labels' must hold both classes (got {num_pos} "
            f'positives and {num_neg} negatives)'
        )
    return float(
        (rank[pos].sum() - num_pos * (num_pos + 1) / 2) / (num_pos * num_neg)
    )


def split_links(data: Data):
    r"""80/10/10 link split without training negatives (they are drawn
    fresh every epoch), and the held-out (validation + test) positives that
    no training negative may be."""
    split = RandomLinkSplit(
        num_val=0.1,
        num_test=0.1,
        is_undirected=True,
        add_negative_train_samples=False,
    )
    train_data, val_data, test_data = split(data)
    held_out = torch.cat(
        [
            val_data.edge_label_index[:, val_data.edge_label == 1],
            test_data.edge_label_index[:, test_data.edge_label == 1],
        ],
        dim=1,
    )
    return train_data, val_data, test_data, held_out


@torch.no_grad()
def evaluate(model: GCN, data: Data) -> float:
    model.eval()
    z = model(data.x, data.edge_index)
    src, dst = data.edge_label_index
    return roc_auc((z[src] * z[dst]).sum(-1), data.edge_label)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num-nodes', type=int, default=1000)
    parser.add_argument('--num-blocks', type=int, default=5)
    parser.add_argument(
        '--epochs',
        type=int,
        default=50,
        help='full-graph epochs (default: 50)',
    )
    parser.add_argument(
        '--num-neg',
        type=int,
        default=4,
        help='negatives per positive in the loader part (default: 4)',
    )
    parser.add_argument(
        '--batch-size',
        type=int,
        default=256,
        help='positives per loader mini-batch (default: 256)',
    )
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    for name in ('num_nodes', 'num_blocks', 'epochs', 'num_neg', 'batch_size'):
        if getattr(args, name) <= 0:
            parser.error(
                f'--{name.replace("_", "-")} must be positive '
                f'(got {getattr(args, name)})'
            )

    # RandomLinkSplit's held-out negatives come from PyG's
    # negative_sampling, which draws with Python's random module:
    random.seed(args.seed)
    torch.manual_seed(args.seed)  # RandomLinkSplit and GCN initialisation
    gen = torch.Generator().manual_seed(args.seed)
    n = args.num_nodes
    data = block_model(
        n,
        args.num_blocks,
        p_in=min(1.0, 40 / n),
        p_out=min(1.0, 4 / n),
        num_features=16,
        generator=gen,
    )
    print(
        f'graph: {data.num_nodes} nodes, {data.num_edges // 2} undirected '
        f'edges, {args.num_blocks} blocks'
    )

    train_data, val_data, test_data, held_out = split_links(data)
    print(
        f'train positives {train_data.edge_label_index.size(1)}, held-out '
        f'(val + test) positives {held_out.size(1)}'
    )

    # Every edge of the graph, both directions: what no negative may be.
    all_edges = PositiveIndex(data.edge_index, n, undirected=True)

    # ---------------------------------------- full graph, fresh negatives
    sampler = UniformSampler(
        'binary', amount=1, undirected=True, seed=args.seed
    )
    transform = AddNegativeSamples(sampler, extra_positives=held_out)
    model = GCN(data.num_features, 64, 32)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    start, false_neg = time.perf_counter(), 0
    for epoch in range(1, args.epochs + 1):
        batch = transform(train_data)  # positives + fresh negatives
        neg = batch.edge_label_index[:, batch.edge_label == 0]
        false_neg += int(all_edges.contains(neg[0], neg[1]).sum())
        model.train()
        z = model(batch.x, batch.edge_index)
        src, dst = batch.edge_label_index
        logits = (z[src] * z[dst]).sum(-1)
        loss = F.binary_cross_entropy_with_logits(logits, batch.edge_label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch % max(1, args.epochs // 5) == 0 or epoch == args.epochs:
            print(
                f'epoch {epoch:3d} | loss {loss.item():.4f} | val AUC '
                f'{evaluate(model, val_data):.4f}'
            )
    print(
        f'full graph: {args.epochs} epochs in '
        f'{time.perf_counter() - start:.1f} s | val AUC '
        f'{evaluate(model, val_data):.4f} | test AUC '
        f'{evaluate(model, test_data):.4f}'
    )
    print(
        f'false negatives: {false_neg} (graph edges, either direction, '
        f'among {args.epochs} epochs of fresh negatives)'
    )

    # ------------------------ mini-batches: LinkNeighborLoader, triplets
    model = GCN(data.num_features, 64, 32)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loader = LinkNeighborLoader(
        train_data,
        num_neighbors=[10, 10],
        edge_label_index=train_data.edge_label_index,
        batch_size=args.batch_size,
        shuffle=True,
        neg_sampling=UniformSampler(
            'triplet', amount=args.num_neg, undirected=True, seed=args.seed
        ),
        extra_positives=held_out,
    )
    start, false_neg, steps = time.perf_counter(), 0, 0
    model.train()
    for batch in loader:
        h = model(batch.x, batch.edge_index)
        dst_neg_index = batch.dst_neg_index.view(batch.src_index.numel(), -1)
        src = h[batch.src_index]  # [B, d]
        pos = (src * h[batch.dst_pos_index]).sum(-1)  # [B]
        neg = (src.unsqueeze(1) * h[dst_neg_index]).sum(-1)  # [B, k]
        loss = bpr_loss(pos, neg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # Row i of dst_neg_index belongs to positive i (global ids: n_id):
        u = batch.n_id[batch.src_index].view(-1, 1)
        false_neg += int(
            all_edges.contains(u, batch.n_id[dst_neg_index]).sum()
        )
        steps += 1
    print(
        f'LinkNeighborLoader (triplet, {args.num_neg} negatives per '
        f'positive): 1 epoch, {steps} mini-batches in '
        f'{time.perf_counter() - start:.1f} s | loss {loss.item():.4f} | '
        f'val AUC {evaluate(model, val_data):.4f}'
    )
    print(f'loader false negatives: {false_neg}')


if __name__ == '__main__':
    main()
