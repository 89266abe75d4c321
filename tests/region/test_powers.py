import functools

import pytest
import torch
from region_reference import (
    bipartite_reference,
    homogeneous_reference,
    labels,
)

from torch_geometric_negsamp.region import KHopRegion, _build, _powers


def _graph(num_users=60, num_items=200, num_edges=600, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.stack(
        [
            torch.randint(0, num_users, (num_edges,), generator=gen),
            torch.randint(0, num_items, (num_edges,), generator=gen),
        ]
    )


def _grid(num_users, num_items):
    users = torch.arange(num_users).view(-1, 1).expand(-1, num_items)
    return users, torch.arange(num_items).view(1, -1).expand(num_users, -1)


def test_budget_is_respected_and_splits_the_products(monkeypatch):
    edge_index = _graph()
    big = KHopRegion(edge_index, (60, 200), k=5)
    minimum = big.stats['min_memory_budget']
    budget = 4 * minimum

    # Every product's real tensors: its input chunk and its output, as
    # allocated, must fit in the budget (an independent measurement of the
    # footprint the planner accounts for).
    seen = []
    mm = torch.sparse.mm

    def spy(a, b):
        out = mm(a, b)
        tensors = [out if not out.is_sparse else out.values()]
        if out.is_sparse:
            tensors.append(out.indices())
        for t in (a, b):
            if t.layout == torch.strided:
                tensors.append(t)
        seen.append(sum(t.numel() * t.element_size() for t in tensors))
        return out

    monkeypatch.setattr(torch.sparse, 'mm', spy)
    small = KHopRegion(edge_index, (60, 200), k=5, memory_budget=budget)
    monkeypatch.undo()

    assert small.stats['products'] > big.stats['products']
    assert len(seen) == small.stats['products']
    assert 0 < max(seen) <= small.stats['peak_bytes'] <= budget
    assert big.stats['peak_bytes'] <= big.stats['memory_budget']
    assert small.stats['peak_bytes'] >= small.stats['largest_product_bytes']
    grid = _grid(60, 200)
    assert torch.equal(small.region_of(*grid), big.region_of(*grid))


def test_smallest_budget_works_and_one_byte_less_raises():
    edge_index = _graph(seed=1)
    probe = KHopRegion(edge_index, (60, 200), k=3)
    minimum = probe.stats['min_memory_budget']
    region = KHopRegion(edge_index, (60, 200), k=3, memory_budget=minimum)
    assert region.stats['peak_bytes'] <= minimum
    assert region.stats['largest_product_rows'] >= 1
    grid = _grid(60, 200)
    assert torch.equal(region.region_of(*grid), probe.region_of(*grid))
    with pytest.raises(ValueError, match=f'at least {minimum:,} bytes'):
        KHopRegion(edge_index, (60, 200), k=3, memory_budget=minimum - 1)


def test_block_size_caps_the_rows_of_a_product():
    region = KHopRegion(_graph(seed=2), (60, 200), k=5, block_size=7)
    assert region.stats['largest_product_rows'] <= 7
    assert region.stats['products'] >= 2 * 60 // 7


@pytest.mark.parametrize('kernel', ['sparse', 'dense'])
@pytest.mark.parametrize('block_size', [None, 3])
def test_both_kernels_equal_the_reference(monkeypatch, kernel, block_size):
    monkeypatch.setattr(
        _build,
        'BlockedPowers',
        functools.partial(_powers.BlockedPowers, kernel=kernel),
    )
    for seed in range(3):
        edge_index = _graph(12, 30, 40, seed)
        extra = _graph(12, 30, 3, seed + 10)
        for k, a in ((3, 1), (5, 3), (7, 3)):
            region = KHopRegion(
                edge_index,
                (12, 30),
                k,
                a,
                extra_positives=extra,
                block_size=block_size,
            )
            expect = labels(
                *bipartite_reference(edge_index, 12, 30, k, a, extra), 30
            )
            assert torch.equal(region.region_of(*_grid(12, 30)), expect)
            _check_ranks_and_draws(region, 12)
            dense = region.stats['dense_products']
            if kernel == 'sparse':
                assert dense == 0
            else:
                assert dense == region.stats['products']
        homo = _graph(15, 15, 30, seed)
        for k, a in ((2, 1), (4, 2)):
            region = KHopRegion(homo, 15, k, a, block_size=block_size)
            expect = labels(*homogeneous_reference(homo, 15, k, a), 15)
            assert torch.equal(region.region_of(*_grid(15, 15)), expect)


def _check_ranks_and_draws(region, num_users):
    if region._rank_index is not None:
        # The ranks gathered while storing equal ranks asked afterwards.
        rows, cols = region.adjacent.members_unchecked(0, num_users)
        got = torch.stack(region._rank_index.edges())
        expect = torch.stack([rows, region.reach.rank_unchecked(rows, cols)])
        assert torch.equal(got, expect)
    users = torch.arange(num_users).repeat(30)
    users = users[region.sizes()[users] > 0]
    assert bool(
        region.contains(users, region.sample_intermediate(users)).all()
    )


def test_auto_kernel_goes_dense_on_dense_rows():
    # Every user reaches every item in three hops: the last product is
    # dense; the first (user x user, through few items) too once rows fill.
    edge_index = _graph(40, 50, 800, seed=3)
    region = KHopRegion(edge_index, (40, 50), k=3)
    assert region.stats['dense_products'] >= 1
    sparse = KHopRegion(_graph(300, 3000, 300, seed=4), (300, 3000), k=3)
    assert sparse.stats['dense_products'] == 0
