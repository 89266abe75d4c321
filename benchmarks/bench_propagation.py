r"""Forward + backward time of 3-layer LightGCN propagation on Gowalla.

Compares, on the embedded Gowalla training split (29,858 users, 40,981
items, 810,128 interactions; 1,620,256 adjacency non-zeros):

(a) PyG's :class:`torch_geometric.nn.models.LightGCN`, called on the
    undirected :obj:`edge_index` (normalization recomputed at each layer,
    one message per edge);
(b) :func:`torch.sparse.mm` over the precomputed normalized CSR adjacency
    (PyTorch's own backward, which transposes the matrix each step);
(c) :class:`torch_geometric_negsamp.nn.LightGCN`: the same CSR adjacency with
    :func:`torch_geometric_negsamp.nn.propagate` (backward reuses the
    symmetric matrix).

Each timed iteration runs the layer-mean embedding of all nodes and the
backward of a fixed random linear loss. Usage::

    python benchmarks/bench_propagation.py [--device cuda] [--repeats 3]
"""

import argparse
import time

import torch
from _machine import describe, gowalla_train, machine_info
from torch_geometric.nn.models import LightGCN as PyGLightGCN
from torch_geometric.utils import to_undirected

from torch_geometric_negsamp.nn import LightGCN, normalized_adjacency


def time_it(step, repeats, device):
    step()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), sum(times) / len(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--dim', type=int, default=64)
    parser.add_argument('--layers', type=int, default=3)
    parser.add_argument(
        '--threads', type=int, default=None, help='torch.set_num_threads (CPU)'
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    train_index, num_users, num_items = gowalla_train()
    num_nodes = num_users + num_items
    edge_index = to_undirected(
        torch.stack([train_index[0], train_index[1] + num_users])
    )
    train_index, edge_index = train_index.to(device), edge_index.to(device)

    torch.manual_seed(0)
    ours = LightGCN(
        num_users, num_items, args.dim, args.layers, train_index=train_index
    ).to(device)
    theirs = PyGLightGCN(num_nodes, args.dim, args.layers).to(device)
    theirs.embedding.weight.data.copy_(ours.embedding.weight.data)
    adj = normalized_adjacency(train_index, num_users, num_items).to(device)
    upstream = torch.randn(num_nodes, args.dim, device=device)

    def step_pyg():
        theirs.zero_grad()
        (theirs.get_embedding(edge_index) * upstream).sum().backward()

    def step_sparse_mm():
        ours.zero_grad()
        x = ours.embedding.weight
        out = x
        for _ in range(args.layers):
            x = torch.sparse.mm(adj, x)
            out = out + x
        (out / (args.layers + 1) * upstream).sum().backward()

    def step_ours():
        ours.zero_grad()
        user_emb, item_emb = ours()
        (torch.cat([user_emb, item_emb]) * upstream).sum().backward()

    with torch.no_grad():
        same = torch.allclose(
            torch.cat(ours()), theirs.get_embedding(edge_index), atol=1e-5
        )

    print(f'machine: {describe(machine_info(device))}')
    print(
        f'graph: {num_users} users, {num_items} items, '
        f'{train_index.size(1)} interactions, {adj._nnz()} non-zeros; '
        f'{args.layers} layers x {args.dim} dims; same output: {same}'
    )
    results = {}
    for name, step in (
        ('(a) PyG LightGCN(edge_index)', step_pyg),
        ('(b) torch.sparse.mm(CSR)', step_sparse_mm),
        ('(c) negsamp LightGCN(CSR)', step_ours),
    ):
        best, mean = time_it(step, args.repeats, device)
        results[name] = best
        print(f'{name:32s} best {best:.4f} s   mean {mean:.4f} s')
    base = results['(a) PyG LightGCN(edge_index)']
    ours_best = results['(c) negsamp LightGCN(CSR)']
    print(
        f'speed-up of (c) over (a): {base / ours_best:.2f}x; '
        f'over (b): {results["(b) torch.sparse.mm(CSR)"] / ours_best:.2f}x'
    )


if __name__ == '__main__':
    main()
