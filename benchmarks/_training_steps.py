r"""The four training steps that :mod:`bench_training` times (PyG's stock
loop, a plain rewrite, ours, ours in a CUDA graph) and the timing and
bandwidth helpers it uses."""

import math
import statistics
import time
from typing import Callable, Dict, List

import torch
from _machine import sync
from torch import Tensor
from torch_geometric.nn.models import LightGCN as PyGLightGCN
from torch_geometric.utils import to_undirected

from torch_geometric_negsamp.losses import bpr_loss, l2_regularization
from torch_geometric_negsamp.nn import LightGCN, normalized_adjacency
from torch_geometric_negsamp.train.trainer import TrainConfig, Trainer


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
