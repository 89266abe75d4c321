from collections import Counter

import pytest
import torch
import torch.distributed as dist
from gloo_spawn import spawn
from torch_geometric.data import Data, HeteroData

from torch_geometric_negsamp import PositiveIndex
from torch_geometric_negsamp.distributed import (
    DistributedContext,
    DistributedLinkNeighborLoader,
    shard_edge_label_index,
    shard_ids,
)
from torch_geometric_negsamp.sampler import UniformSampler


def _graph(num_nodes=14, num_labels=61):
    r"""A dense little graph, and label links that are not among its edges
    (so that only an index fitted on all labels keeps negatives exact)."""
    gen = torch.Generator().manual_seed(3)
    edges = torch.randint(num_nodes, (2, 40), generator=gen)
    labels = torch.randint(num_nodes, (2, num_labels), generator=gen)
    return Data(edge_index=edges, num_nodes=num_nodes), labels


# ------------------------------------------------------ in one process
@pytest.mark.parametrize('num,world', [(10, 3), (12, 4), (5, 2)])
def test_shards_pad_or_drop_as_distributed_sampler(num, world):
    ctxs = [DistributedContext(rank=r, world_size=world) for r in range(world)]
    padded = [shard_ids(num, c, 2, seed=5) for c in ctxs]
    assert len({p.numel() for p in padded}) == 1  # equal sizes
    counts = Counter(torch.cat(padded).tolist())
    assert set(counts) == set(range(num))  # covering
    assert sum(counts.values()) == -(-num // world) * world
    assert sum(c - 1 for c in counts.values()) == (-num) % world
    dropped = [shard_ids(num, c, 2, seed=5, drop_last=True) for c in ctxs]
    ids = torch.cat(dropped).tolist()
    assert len(ids) == len(set(ids)) == num // world * world  # disjoint


def test_shards_are_reproducible_and_reshuffled_by_epoch():
    ctx = DistributedContext(rank=1, world_size=2)
    a = shard_ids(100, ctx, 0, seed=1)
    assert torch.equal(a, shard_ids(100, ctx, 0, seed=1))
    assert not torch.equal(a, shard_ids(100, ctx, 1, seed=1))
    assert not torch.equal(a, shard_ids(100, ctx, 0, seed=2))
    plain = shard_ids(10, ctx, 3, shuffle=False)
    assert plain.tolist() == [1, 3, 5, 7, 9]
    labels = torch.arange(20).view(2, 10)
    part = shard_edge_label_index(labels, ctx, 3, shuffle=False)
    assert part.tolist() == [[1, 3, 5, 7, 9], [11, 13, 15, 17, 19]]


def test_single_process_loader_sees_every_link_once():
    data, labels = _graph()
    loader = DistributedLinkNeighborLoader(
        data,
        [2],
        DistributedContext(),
        edge_label_index=labels,
        batch_size=8,
        neg_sampling=UniformSampler('triplet', amount=2),
    )
    ids = torch.cat([b.input_id for b in loader])
    assert sorted(ids.tolist()) == list(range(labels.size(1)))
    assert repr(loader).startswith(
        'DistributedLinkNeighborLoader(rank=0, world_size=1, '
    )


def test_bad_arguments_are_refused():
    data, labels = _graph()
    ctx = DistributedContext(rank=0, world_size=2)
    with pytest.raises(ValueError, match=r"'edge_label_index' must have sh"):
        shard_edge_label_index(labels[:1], ctx)
    with pytest.raises(ValueError, match="'epoch' must be non-negative"):
        shard_edge_label_index(labels, ctx, -1)
    with pytest.raises(TypeError, match="'context' must be a Distributed"):
        shard_ids(5, 'rank0')
    with pytest.raises(TypeError, match="'shuffle' must be a bool"):
        shard_ids(5, ctx, shuffle=1)
    with pytest.raises(ValueError, match="'sampler' is set by Distributed"):
        DistributedLinkNeighborLoader(data, [2], ctx, sampler=[0, 1])
    with pytest.raises(TypeError, match="'data' must be a Data or Hetero"):
        DistributedLinkNeighborLoader(data.edge_index, [2], ctx)
    loader = DistributedLinkNeighborLoader(
        data, [2], ctx, edge_label_index=labels
    )
    with pytest.raises(ValueError, match="'epoch' must be non-negative"):
        loader.set_epoch(-2)


# ------------------------------------------------------ two gloo ranks
def _epoch(loader, epoch):
    loader.set_epoch(epoch)
    ids, src, neg = [], [], []
    for batch in loader:
        ids.append(batch.input_id)
        src.append(batch.n_id[batch.src_index])
        neg.append(batch.n_id[batch.dst_neg_index])
    return torch.cat(ids), torch.cat(src), torch.cat(neg)


def _two_ranks(rank, world, drop_last):
    ctx = DistributedContext.from_env()
    data, labels = _graph()
    loader = DistributedLinkNeighborLoader(
        data,
        [3, 2],
        ctx,
        edge_label_index=labels,
        batch_size=8,
        seed=4,
        drop_last=drop_last,
        neg_sampling=UniformSampler('triplet', amount=3),
    )
    first = _epoch(loader, 0)
    second = _epoch(loader, 1)
    again = _epoch(loader, 0)
    for a, b in zip(first, again):  # reproducible per epoch
        assert torch.equal(a, b)
    assert not torch.equal(first[0], second[0])  # reshuffled
    gathered = [None] * world
    dist.all_gather_object(gathered, (first, second, loader.neg_sampling))
    full = PositiveIndex(torch.cat([data.edge_index, labels], dim=1), 14)
    for epoch in (0, 1):
        ids = [g[epoch][0].tolist() for g in gathered]
        assert len(ids[0]) == len(ids[1])
        both = Counter(ids[0] + ids[1])
        if drop_last:  # disjoint, the tail dropped
            assert max(both.values()) == 1 and len(both) == 60
        else:  # covering, one link repeated to pad
            assert set(both) == set(range(61)) and sum(both.values()) == 62
        for _, src, neg in (g[epoch] for g in gathered):
            src = src.view(-1, 1).expand_as(neg)
            assert not bool(full.contains(src, neg).any())  # exact
    # Each rank's negative stream is its own (seed, rank, epoch).
    seeds = {g[2].seed for g in gathered}
    assert len(seeds) == world
    ctx.shutdown()


@pytest.mark.parametrize('drop_last', [False, True])
def test_two_gloo_ranks_split_links_with_exact_negatives(drop_last):
    spawn(_two_ranks, world=2, args=(drop_last,))


def test_hetero_links_are_split_by_the_ranks():
    gen = torch.Generator().manual_seed(0)
    data = HeteroData()
    data['user'].num_nodes, data['item'].num_nodes = 20, 30
    edges = torch.stack(
        [
            torch.randint(20, (101,), generator=gen),
            torch.randint(30, (101,), generator=gen),
        ]
    )
    data['user', 'buys', 'item'].edge_index = edges
    data['item', 'rev_buys', 'user'].edge_index = edges.flip(0)
    full = PositiveIndex(edges, 20, 30)
    seen = []
    for rank in range(2):
        loader = DistributedLinkNeighborLoader(
            data,
            [2],
            DistributedContext(rank=rank, world_size=2),
            edge_label_index=('user', 'item'),  # PyG's shorthand
            batch_size=16,
            neg_sampling=UniformSampler('triplet', amount=2),
        )
        for batch in loader:
            seen += batch['user', 'buys', 'item'].input_id.tolist()
            user, item = batch['user'], batch['item']
            src = user.n_id[user.src_index]
            neg = item.n_id[item.dst_neg_index]
            assert not bool(full.contains(src.view(-1, 1), neg).any())
    assert sorted(set(seen)) == list(range(101)) and len(seen) == 102
