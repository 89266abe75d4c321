import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from region_reference import (
    bipartite_graphs,
    bipartite_reference,
    homogeneous_graphs,
    homogeneous_reference,
    labels,
)
from scipy.stats import chisquare
from torch_geometric.data import Data, HeteroData

from torch_geometric_negsamp.region import KHopRegion

CUDA = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device'
)
BIPARTITE_HOPS = [(3, 1), (5, 1), (5, 3), (7, 1), (7, 3), (7, 5)]
HOMOGENEOUS_HOPS = [
    (1, 0),
    (2, 0),
    (3, 0),
    (2, 1),
    (3, 1),
    (3, 2),
    (4, 2),
    (5, 3),
]
BLOCK_SIZES = [None, 1, 2, 7, 1000]


def _grid(num_users, num_items):
    users = torch.arange(num_users).view(-1, 1).expand(-1, num_items)
    return users, torch.arange(num_items).view(1, -1).expand(num_users, -1)


def _check(region, adjacent, intermediate, num_items):
    users, items = _grid(len(adjacent), num_items)
    expect = labels(adjacent, intermediate, num_items)
    assert torch.equal(region.region_of(users, items), expect)
    assert torch.equal(region.contains(users, items), expect == 1)
    sizes = [len(s) for s in intermediate]
    assert region.sizes().tolist() == sizes
    assert region.adjacent_sizes().tolist() == [len(s) for s in adjacent]
    distant = (expect == 0).sum(1)
    assert torch.equal(region.distant_sizes(), distant)

    # Selecting every rank lists each region in id order.
    for u in range(len(adjacent)):
        for select, members in (
            (region.select_intermediate_unchecked, sorted(intermediate[u])),
            (
                region.select_distant_unchecked,
                (expect[u] == 0).nonzero().view(-1).tolist(),
            ),
        ):
            rank = torch.arange(len(members))
            assert select(torch.full_like(rank, u), rank).tolist() == members

    # Every draw lies in its region; -1 exactly where the region is empty.
    who = torch.arange(len(adjacent)).repeat(20)
    draw = region.sample_intermediate_unchecked(who)
    for u, v in zip(who.tolist(), draw.tolist()):
        assert (v in intermediate[u]) if sizes[u] else v == -1
    draw = region.sample_distant_unchecked(who)
    for u, v in zip(who.tolist(), draw.tolist()):
        assert expect[u, v] == 0 if distant[u] else v == -1

    # Selecting every rank lists each region in ascending id order.
    for u in range(len(adjacent)):
        for size, select, want in (
            (sizes[u], region.select_intermediate_unchecked, intermediate[u]),
            (
                int(distant[u]),
                region.select_distant_unchecked,
                (expect[u] == 0).nonzero().view(-1).tolist(),
            ),
        ):
            rank = torch.arange(size)
            got = select(torch.full_like(rank, u), rank)
            assert got.tolist() == sorted(want)


@settings(max_examples=60, deadline=None)
@given(
    graph=bipartite_graphs(),
    hops=st.sampled_from(BIPARTITE_HOPS),
    block_size=st.sampled_from(BLOCK_SIZES),
    storage=st.sampled_from(['auto', 'bits', 'ids']),
)
def test_bipartite_equals_breadth_first_walks(
    graph, hops, block_size, storage
):
    edge_index, num_users, num_items, extra = graph
    k, a = hops
    region = KHopRegion(
        edge_index,
        (num_users, num_items),
        k,
        a,
        extra_positives=extra,
        block_size=block_size,
        storage=storage,
    )
    adjacent, intermediate = bipartite_reference(
        edge_index, num_users, num_items, k, a, extra
    )
    _check(region, adjacent, intermediate, num_items)


@settings(max_examples=60, deadline=None)
@given(
    graph=homogeneous_graphs(),
    hops=st.sampled_from(HOMOGENEOUS_HOPS),
    block_size=st.sampled_from(BLOCK_SIZES),
    storage=st.sampled_from(['auto', 'bits', 'ids']),
)
def test_homogeneous_equals_breadth_first_search(
    graph, hops, block_size, storage
):
    edge_index, num_nodes, extra = graph
    k, a = hops
    region = KHopRegion(
        edge_index,
        num_nodes,
        k,
        a,
        extra_positives=[extra],
        block_size=block_size,
        storage=storage,
    )
    adjacent, intermediate = homogeneous_reference(
        edge_index, num_nodes, k, a, extra
    )
    _check(region, adjacent, intermediate, num_nodes)


def _path_graph():
    # User 0 - item 0 - user 1 - items 1..6 - user 2 - items 7..11; user 3
    # has no item. Three hops from user 0: items 1..6.
    edges = [(0, 0), (1, 0)] + [(1, i) for i in range(1, 7)]
    edges += [(2, i) for i in range(6, 12)]
    return torch.tensor(edges).t(), (4, 13)


def test_small_graph_by_hand():
    edge_index, num_nodes = _path_graph()
    region = KHopRegion(edge_index, num_nodes, k=3)
    assert region.sizes().tolist() == [6, 5, 6, 0]
    users = torch.tensor([0, 0, 0, 0, 3])
    items = torch.tensor([0, 3, 7, 12, 0])
    assert region.region_of(users, items).tolist() == [2, 1, 0, 0, 0]
    region5 = KHopRegion(edge_index, num_nodes, k=5, adjacent_hops=3)
    # Five hops from user 0 reach items 7..11 through item 6.
    assert region5.sizes(torch.tensor([0])).tolist() == [5]
    assert region5.contains(torch.tensor([0]), torch.tensor([9])).item()
    assert 'num_users=4' in repr(region) and 'k=3' in repr(region)


@pytest.mark.parametrize('hops', [(3, 1), (5, 3)])
@pytest.mark.parametrize('storage', ['bits', 'ids'])
def test_draws_are_uniform(hops, storage):
    # Adjacent 1-hop draws use the rank index, 3-hop ones the rank search;
    # bits and ids exercise both row forms.
    gen = torch.Generator().manual_seed(0)
    num_users, num_items = 6, 40
    edge_index = torch.stack(
        [
            torch.randint(0, num_users, (40,), generator=gen),
            torch.randint(0, num_items, (40,), generator=gen),
        ]
    )
    region = KHopRegion(
        edge_index, (num_users, num_items), *hops, storage=storage
    )
    labels = region.region_of(*_grid(num_users, num_items))
    gen = torch.Generator().manual_seed(1)
    for u in range(num_users):
        for which, label, size in (
            ('intermediate', 1, region.sizes()),
            ('distant', 0, region.distant_sizes()),
        ):
            if size[u] < 2:
                continue
            users = torch.full((400 * int(size[u]),), u)
            draw = getattr(region, f'sample_{which}')(users, gen)
            assert bool((labels[u, draw] == label).all())
            counts = torch.bincount(draw, minlength=num_items)
            counts = counts[labels[u] == label]
            assert chisquare(counts.numpy()).pvalue > 1e-4


def test_empty_regions():
    edge_index, num_nodes = _path_graph()
    region = KHopRegion(edge_index, num_nodes, k=3)
    users = torch.tensor([3, 0])
    assert region.sample_intermediate_unchecked(users)[0] == -1
    with pytest.raises(ValueError, match='user 3 .* empty intermediate'):
        region.sample_intermediate(users)
    # A user adjacent to every item has no distant region.
    full = torch.stack([torch.zeros(3, dtype=torch.long), torch.arange(3)])
    region = KHopRegion(full, (1, 3), k=3)
    assert region.distant_sizes().tolist() == [0]
    assert region.sample_distant_unchecked(torch.tensor([0])).item() == -1
    with pytest.raises(ValueError, match='empty distant region'):
        region.sample_distant(torch.tensor([0]))
    # A graph without edges: every item is distant.
    empty = torch.empty((2, 0), dtype=torch.long)
    region = KHopRegion(empty, (2, 5), k=3)
    assert region.sizes().tolist() == [0, 0]
    assert region.distant_sizes().tolist() == [5, 5]


def test_log_prob():
    edge_index, num_nodes = _path_graph()
    region = KHopRegion(edge_index, num_nodes, k=3)
    users = torch.tensor([0, 0, 0])
    items = torch.tensor([0, 3, 7])
    inter = region.log_prob(users, items)
    assert inter[1].item() == pytest.approx(-math.log(6))
    assert inter[0].item() == inter[2].item() == -math.inf
    far = region.log_prob(users, items, region='distant')
    assert far[2].item() == pytest.approx(-math.log(13 - 7))
    assert far[1].item() == -math.inf
    with pytest.raises(ValueError, match="'region' must be one of"):
        region.log_prob(users, items, region='adjacent')


def test_from_data():
    edge_index, (num_users, num_items) = _path_graph()
    data = HeteroData()
    data['user'].num_nodes = num_users
    data['item'].num_nodes = num_items
    data['user', 'rates', 'item'].edge_index = edge_index
    region = KHopRegion.from_data(data, ('user', 'item'), k=3)
    assert region.bipartite and region.sizes().tolist() == [6, 5, 6, 0]
    with pytest.raises(ValueError, match="'edge_type' must be given"):
        KHopRegion.from_data(data)
    homo = Data(edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]), num_nodes=5)
    region = KHopRegion.from_data(homo, k=2)
    assert not region.bipartite
    assert region.contains(torch.tensor([0]), torch.tensor([2])).item()
    same = HeteroData()
    same['paper'].num_nodes = 5
    same['paper', 'cites', 'paper'].edge_index = homo.edge_index
    region = KHopRegion.from_data(same, 'cites', k=2)
    assert not region.bipartite and region.sizes().tolist()[0] == 1


def test_share_memory_and_to():
    edge_index, num_nodes = _path_graph()
    region = KHopRegion(edge_index, num_nodes, k=3)
    assert region.share_memory_() is region
    assert region.reach.bits.is_shared() and region._sizes.is_shared()
    assert region.to('cpu').device.type == 'cpu'
    expected = (
        region.reach.nbytes
        + region.adjacent.nbytes
        + region._rank_index.nbytes
        + 2 * 8 * 4
    )
    assert region.nbytes == expected


def test_construction_errors():
    e, nodes = _path_graph()
    cases = [
        (dict(k=4), ValueError, "'k' must be odd on a bipartite graph"),
        (dict(k=0), ValueError, "'k' must be a positive integer"),
        (dict(k=1), ValueError, "'adjacent_hops' must be smaller than 'k'"),
        (dict(k=2.0), TypeError, "'k' must be an int"),
        (dict(adjacent_hops=3), ValueError, "smaller than 'k'"),
        (
            dict(k=5, adjacent_hops=2),
            ValueError,
            "'adjacent_hops' must be odd",
        ),
        (dict(adjacent_hops=0), ValueError, "'adjacent_hops' must be a pos"),
        (dict(block_size=0), ValueError, "'block_size' must be a positive"),
        (dict(memory_budget=0), ValueError, "'memory_budget' must be a pos"),
        (dict(memory_budget=1000), ValueError, "'memory_budget' must be at"),
        (dict(method='bfs'), ValueError, "'method' must be one of"),
        (dict(storage='dense'), ValueError, "'storage' must be one of"),
        (dict(num_walks=0), ValueError, "'num_walks' must be a positive"),
        (dict(seed='a'), TypeError, "'seed' must be an int"),
        (
            dict(extra_positives=torch.tensor([[0], [13]])),
            ValueError,
            r"'extra_positives\[1\]' holds node index 13",
        ),
        (dict(extra_positives=5), TypeError, "'extra_positives' must be"),
    ]
    for kwargs, error, match in cases:
        with pytest.raises(error, match=match):
            KHopRegion(e, nodes, **kwargs)
    with pytest.raises(ValueError, match=r"'edge_index\[1\]' holds node"):
        KHopRegion(e, (4, 11))
    with pytest.raises(ValueError, match=r"'edge_index\[0\]' holds node"):
        KHopRegion(e, (2, 13))
    with pytest.raises(TypeError, match="'edge_index' must hold integer"):
        KHopRegion(e.float(), nodes)
    with pytest.raises(ValueError, match=r"'edge_index' must have 2 dim"):
        KHopRegion(e[0], nodes)
    with pytest.raises(ValueError, match="'num_nodes' must be an int or a"):
        KHopRegion(e, (4, 13, 2))
    with pytest.raises(ValueError, match=r"'num_nodes\[1\]' must be a pos"):
        KHopRegion(e, (4, 0))
    with pytest.raises(TypeError, match="'num_nodes' must be an int"):
        KHopRegion(e, 13.0)
    # A homogeneous graph has no parity rule, but a < k still holds.
    with pytest.raises(ValueError, match="smaller than 'k'"):
        KHopRegion(torch.tensor([[0], [1]]), 3, k=2, adjacent_hops=2)
    # ... and a >= 0 (0: each node alone is adjacent).
    with pytest.raises(ValueError, match="'adjacent_hops' must be non-neg"):
        KHopRegion(torch.tensor([[0], [1]]), 3, k=2, adjacent_hops=-1)


def test_query_errors():
    e, nodes = _path_graph()
    region = KHopRegion(e, nodes, k=3)
    ok = torch.tensor([0])
    with pytest.raises(ValueError, match="'users' holds user id 4, out of"):
        region.contains(torch.tensor([4]), ok)
    with pytest.raises(ValueError, match="'items' holds item id -1"):
        region.region_of(ok, torch.tensor([-1]))
    with pytest.raises(TypeError, match="'users' must hold integer ids"):
        region.sample_intermediate(ok.float())
    with pytest.raises(ValueError, match="'users' holds user id 9"):
        region.sample_distant(torch.tensor([9]))
    with pytest.raises(ValueError, match="'users' holds user id 5"):
        region.sizes(torch.tensor([5]))
    with pytest.raises(ValueError, match="'users' holds user id 5"):
        region.distant_sizes(torch.tensor([5]))
    with pytest.raises(TypeError, match="'users' must be a torch.Tensor"):
        region.adjacent_sizes([0])
    homo = KHopRegion(torch.tensor([[0], [1]]), 3, k=2)
    with pytest.raises(ValueError, match='holds node index 3, out of range'):
        homo.contains(ok, torch.tensor([3]))


@CUDA
@pytest.mark.parametrize('hops', [(3, 1), (5, 3)])
def test_cuda_equals_cpu(hops):
    gen = torch.Generator().manual_seed(2)
    edge_index = torch.stack(
        [
            torch.randint(0, 30, (200,), generator=gen),
            torch.randint(0, 700, (200,), generator=gen),
        ]
    )
    cpu = KHopRegion(edge_index, (30, 700), *hops)
    cuda = KHopRegion(edge_index.cuda(), (30, 700), *hops)
    grid = [t.cuda() for t in _grid(30, 700)]
    assert torch.equal(
        cuda.region_of(*grid).cpu(), cpu.region_of(*[t.cpu() for t in grid])
    )
    users = torch.arange(30, device='cuda').repeat(50)
    users = users[cuda.sizes()[users] > 0]
    draw = cuda.sample_intermediate(users)
    assert bool(cuda.contains(users, draw).all())
    moved = cpu.to('cuda')
    assert torch.equal(moved.sizes(), cuda.sizes())
