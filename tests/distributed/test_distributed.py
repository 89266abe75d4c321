import gc
import os
import weakref

import pytest
import torch
import torch.distributed as dist
from gloo_spawn import spawn

from torch_geometric_negsamp import PositiveIndex
from torch_geometric_negsamp.distributed import (
    DistributedContext,
    ShardedPositiveIndex,
    batches,
    num_steps,
    shard,
    share_on_host,
)
from torch_geometric_negsamp.distributed.context import end_process_group

EDGES = torch.tensor([[0, 0, 1, 2, 3, 3, 4], [1, 4, 2, 0, 0, 3, 1]])


def test_single_process_context():
    ctx = DistributedContext.from_env()
    assert not ctx.is_distributed and ctx.is_main
    assert ctx.rank_seed(5) == 5  # a single process keeps its streams
    t = torch.ones(2)
    assert ctx.all_reduce_sum(t) is t and t.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="'rank' must be at most 1"):
        DistributedContext(rank=2, world_size=2)
    with pytest.raises(ValueError, match="'local_rank' must be at most 0"):
        DistributedContext(rank=0, world_size=2, local_rank=1)


def test_every_positive_exactly_once_and_equal_steps():
    order = torch.randperm(103, generator=torch.Generator().manual_seed(0))
    parts = [shard(order, r, 4) for r in range(4)]
    assert sorted(torch.cat(parts).tolist()) == list(range(103))
    assert {p.numel() for p in parts} == {25, 26}
    steps = num_steps(103, 4, 8)
    assert steps == 4
    for p in parts:
        split = batches(p, steps)
        assert len(split) == steps and max(b.numel() for b in split) <= 8
        assert torch.equal(torch.cat(split), p)
    with pytest.raises(ValueError, match="'rank' must be at most 3"):
        shard(order, 4, 4)
    with pytest.raises(ValueError, match="'batch_size' must be a positive"):
        num_steps(10, 2, 0)


@pytest.mark.parametrize('world', [1, 2, 3])
@pytest.mark.parametrize('undirected', [False, True])
def test_sharded_index_answers_as_the_replicated_one(world, undirected):
    full = PositiveIndex(
        EDGES,
        5,
        undirected=undirected,
        exclude_self=True,
        extra_positives=torch.tensor([[2], [4]]),
    )
    shards = [
        ShardedPositiveIndex(
            EDGES,
            5,
            rank=r,
            world_size=world,
            undirected=undirected,
            exclude_self=True,
            extra_positives=torch.tensor([[2], [4]]),
        )
        for r in range(world)
    ]
    assert sum(s.num_edges for s in shards) == full.num_edges
    src = torch.arange(5).repeat_interleave(5)
    dst = torch.arange(5).repeat(5)
    for s in shards:
        mine = s.owns(src)
        assert torch.equal(
            s.contains(src[mine], dst[mine]),
            full.contains(src[mine], dst[mine]),
        )
        own_src = torch.arange(5)[s.owns(torch.arange(5))]
        assert torch.equal(s.degree(own_src), full.degree(own_src))
        full_row = full.num_candidates(own_src) == 0
        if bool(full_row.any()):
            with pytest.raises(
                ValueError, match=f'node {own_src[full_row][0]}'
            ):
                s.sample_complement(own_src)
        own_src = own_src[~full_row]
        gen = torch.Generator().manual_seed(0)
        draws = s.sample_complement(own_src.repeat(50), gen)
        assert not bool(full.contains(own_src.repeat(50), draws).any())
    if world > 1:
        with pytest.raises(ValueError, match='owned by rank 1, not by rank'):
            shards[0].contains(torch.tensor([1]), torch.tensor([0]))


def test_sharded_index_checks_its_arguments_as_the_replicated_one():
    with pytest.raises(ValueError, match="'undirected=True' needs as many"):
        ShardedPositiveIndex(
            EDGES, 5, 6, rank=0, world_size=2, undirected=True
        )
    with pytest.raises(TypeError, match="'extra_positives' must be a tensor"):
        ShardedPositiveIndex(EDGES, 5, rank=0, world_size=2, extra_positives=1)
    with pytest.raises(ValueError, match=r"'extra_positives\[0\]\[1\]' hol"):
        ShardedPositiveIndex(
            EDGES,
            5,
            rank=0,
            world_size=2,
            extra_positives=[torch.tensor([[0], [5]])],
        )
    with pytest.raises(TypeError, match='unexpected keyword'):
        ShardedPositiveIndex(EDGES, 5, rank=0, world_size=2, other=True)


def _host_sharing(rank, world):
    ctx = DistributedContext.from_env()
    assert ctx.rank == rank and ctx.world_size == world
    built = []

    def build():
        built.append(rank)
        return PositiveIndex(EDGES, 5)

    index = share_on_host(build, ctx, name='test')
    assert built == ([0] if rank == 0 else [])  # built once per host
    assert torch.equal(index.keys, PositiveIndex(EDGES, 5).keys)
    assert bool(index.contains(torch.tensor([3]), torch.tensor([3])))
    total = ctx.all_reduce_sum(torch.tensor([rank + 1.0]))
    assert total.item() == 3.0
    ctx.barrier()
    assert not os.path.exists(
        f'/dev/shm/negsamp-local-{os.environ["MASTER_PORT"]}-test'
    )
    ctx.shutdown()


def test_one_index_per_host_shared_by_two_gloo_ranks():
    spawn(_host_sharing, world=2)


def test_end_process_group_frees_unreachable_ddp_modules_first(monkeypatch):
    # A DDP module whose reducer outlives the group frees it last, holding
    # the GIL, and can hang the process on exit: end_process_group collects
    # unreachable modules before it destroys the group.
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group(
        'gloo', store=dist.HashStore(), rank=0, world_size=1
    )
    gc.disable()  # only the explicit collection may free the cycle
    try:
        ddp = DistributedDataParallel(torch.nn.Linear(2, 2))
        ddp.__dict__['cycle'] = [ddp]
        alive = weakref.ref(ddp)
        del ddp
        seen = []
        destroy = dist.destroy_process_group

        def record_then_destroy(*args, **kwargs):
            seen.append(alive() is None)
            destroy(*args, **kwargs)

        monkeypatch.setattr(dist, 'destroy_process_group', record_then_destroy)
        end_process_group()
        assert seen == [True]
        assert not dist.is_initialized()
        end_process_group()  # nothing left to end: no error
        assert seen == [True]
    finally:
        gc.enable()
        if dist.is_initialized():
            dist.destroy_process_group()
