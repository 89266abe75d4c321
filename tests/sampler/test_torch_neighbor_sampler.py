import pickle
from types import SimpleNamespace

import pytest
import torch
from scipy.stats import chisquare
from torch_geometric.loader import NeighborLoader
from torch_geometric.sampler import NodeSamplerInput

from torch_geometric_negsamp.sampler import TorchNeighborSampler


def _check_homo(data, sampler, seed, num_neighbors, disjoint, replace):
    out = sampler.sample_from_nodes(NodeSamplerInput(None, seed))
    node, row, col, edge = out.node, out.row, out.col, out.edge
    num_seeds = seed.numel()
    assert torch.equal(node[:num_seeds], seed)  # seeds first, in order
    # Every sampled edge exists, and 'edge' points at it in the CSC order:
    edge_index = data.edge_index[:, sampler.edge_permutation[edge]]
    assert torch.equal(edge_index, torch.stack([node[row], node[col]]))
    if disjoint:
        batch = out.batch
        assert torch.equal(batch[:num_seeds], torch.arange(num_seeds))
        assert torch.equal(batch[row], batch[col])  # edges stay in subgraph
        keys = batch * data.num_nodes + node
        assert keys.unique().numel() == keys.numel()
    else:
        assert out.batch is None
        assert node.unique().numel() == node.numel()
    # Hop by hop: the frontier is what the previous hop added, and every
    # frontier node gets at most k (exactly min(k, deg)) neighbours:
    deg = torch.bincount(data.edge_index[1], minlength=data.num_nodes)
    node_end = num_seeds
    node_start = 0
    edge_start = 0
    assert out.num_sampled_nodes[0] == num_seeds
    for hop, k in enumerate(num_neighbors):
        num_edges = out.num_sampled_edges[hop]
        hop_col = col[edge_start : edge_start + num_edges]
        hop_edge = edge[edge_start : edge_start + num_edges]
        assert bool(((hop_col >= node_start) & (hop_col < node_end)).all())
        frontier = torch.arange(node_start, node_end)
        count = torch.bincount(
            hop_col - node_start, minlength=frontier.numel()
        )
        expected = deg[node[frontier]]
        if k >= 0:
            expected = (
                expected.clamp(max=k)
                if not replace
                else torch.where(expected > 0, k, 0)
            )
        assert torch.equal(count, expected)
        if not replace:  # no edge twice for one frontier node
            pairs = hop_col * data.num_edges + hop_edge
            assert pairs.unique().numel() == pairs.numel()
        edge_start += num_edges
        node_start = node_end
        node_end += out.num_sampled_nodes[hop + 1]
    assert node_end == node.numel()
    assert edge_start == edge.numel()


@pytest.mark.parametrize('disjoint', [False, True])
@pytest.mark.parametrize('replace', [False, True])
@pytest.mark.parametrize('num_neighbors', [[2, 1], [-1, 3]])
def test_homogeneous_structure(make_graph, disjoint, replace, num_neighbors):
    torch.manual_seed(12345)
    data = make_graph('homo')
    sampler = TorchNeighborSampler(
        data, num_neighbors, replace=replace, disjoint=disjoint
    )
    # A repeated node among the seeds is a separate subgraph when disjoint:
    seed = torch.tensor([3, 0, 6, 3]) if disjoint else torch.tensor([3, 0])
    for _ in range(5):
        _check_homo(data, sampler, seed, num_neighbors, disjoint, replace)


@pytest.mark.parametrize('disjoint', [False, True])
@pytest.mark.parametrize('replace', [False, True])
def test_heterogeneous_structure(make_graph, disjoint, replace):
    torch.manual_seed(12345)
    data = make_graph('hetero')
    rates, rated_by = data.edge_types
    num_neighbors = {rates: [2, 1], rated_by: [1, -1]}
    sampler = TorchNeighborSampler(
        data, num_neighbors, replace=replace, disjoint=disjoint
    )
    seed = {'user': torch.tensor([1, 3]), 'item': torch.tensor([4, 0])}
    out = sampler._sample(seed)
    for node_type, node_seed in seed.items():
        node = out.node[node_type]
        assert torch.equal(node[: node_seed.numel()], node_seed)
        if disjoint:
            batch = out.batch[node_type]
            assert torch.equal(
                batch[: node_seed.numel()], torch.arange(node_seed.numel())
            )
            keys = batch * data[node_type].num_nodes + node
            assert keys.unique().numel() == keys.numel()
        else:
            assert node.unique().numel() == node.numel()
    for edge_type in data.edge_types:
        src_type, _, dst_type = edge_type
        row, col = out.row[edge_type], out.col[edge_type]
        perm = sampler.edge_permutation[edge_type]
        edge_index = data[edge_type].edge_index[:, perm[out.edge[edge_type]]]
        assert torch.equal(
            edge_index,
            torch.stack([out.node[src_type][row], out.node[dst_type][col]]),
        )
        if disjoint:
            assert torch.equal(
                out.batch[src_type][row], out.batch[dst_type][col]
            )
        # First hop: only the seeds of the destination type are a frontier,
        # and each gets at most k neighbours:
        k = num_neighbors[edge_type][0]
        first = out.num_sampled_edges[edge_type][0]
        count = torch.bincount(col[:first], minlength=2)
        assert count.numel() == 2  # only the two seeds
        deg = torch.bincount(
            data[edge_type].edge_index[1], minlength=data[dst_type].num_nodes
        )
        expected = deg[seed[dst_type]]
        expected = (
            torch.where(expected > 0, k, 0)
            if replace
            else expected.clamp(max=k)
        )
        assert torch.equal(count, expected)
    for node_type in data.node_types:
        assert (
            sum(out.num_sampled_nodes[node_type])
            == out.node[node_type].numel()
        )


@pytest.mark.parametrize('replace', [False, True])
def test_draws_are_uniform(make_graph, replace):
    # k = 2 of 6 neighbours: without replacement every one of the 15 pairs
    # is equally likely; with it, every one of the 36 ordered draws.
    star = make_graph('homo', [(i, 0) for i in range(1, 7)], 7)
    gen = torch.Generator().manual_seed(0)
    sampler = TorchNeighborSampler(star, [2], replace=replace, generator=gen)
    counts = {}
    for _ in range(1500):
        out = sampler._sample(torch.tensor([0]))
        drawn = out.node[out.row].tolist()
        assert len(drawn) == 2 and 0 not in drawn
        key = tuple(drawn) if replace else tuple(sorted(drawn))
        assert replace or key[0] != key[1]
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == (36 if replace else 15)
    assert chisquare(list(counts.values())).pvalue > 1e-3


def test_generator_drives_the_draws(make_graph):
    data = make_graph('homo')

    def run(seed):
        gen = torch.Generator().manual_seed(seed)
        sampler = TorchNeighborSampler(data, [1, 1], generator=gen)
        return [sampler._sample(torch.arange(8)).edge for _ in range(4)]

    torch.manual_seed(0)
    first = run(3)
    torch.manual_seed(1)  # the global generator plays no part
    assert all(torch.equal(a, b) for a, b in zip(first, run(3)))
    assert not all(torch.equal(a, b) for a, b in zip(first, run(4)))


@pytest.mark.parametrize('stream', [{'seed': 3}, {'generator': 'seeded'}])
def test_workers_draw_distinct_reproducible_streams(
    make_graph, monkeypatch, stream
):
    # A stored generator is copied into every DataLoader worker: each worker
    # derives its own stream from it and from its own worker seed.
    if 'generator' in stream:
        stream = {'generator': torch.Generator().manual_seed(3)}
    sampler = TorchNeighborSampler(make_graph('homo'), [1, 1], **stream)
    state = None if 'seed' in stream else stream['generator'].get_state()

    def in_worker(worker_seed):
        info = SimpleNamespace(seed=worker_seed)
        monkeypatch.setattr(torch.utils.data, 'get_worker_info', lambda: info)
        copy = pickle.loads(pickle.dumps(sampler))  # what a worker holds
        return torch.cat(
            [copy._sample(torch.arange(8)).edge for _ in range(4)]
        )

    first, again, other = in_worker(10), in_worker(10), in_worker(11)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    if state is not None:
        assert torch.equal(stream['generator'].get_state(), state)


def test_reproducible_under_manual_seed(make_graph):
    data = make_graph('homo')
    sampler = TorchNeighborSampler(data, [1, 1])
    outs = []
    for _ in range(2):
        torch.manual_seed(7)
        outs.append(sampler._sample(torch.tensor([0, 4])))
    assert torch.equal(outs[0].node, outs[1].node)
    assert torch.equal(outs[0].edge, outs[1].edge)


def test_neighbor_loader_features(make_graph):
    data = make_graph('homo')
    loader = NeighborLoader(
        data,
        [2, 2],
        batch_size=3,
        neighbor_sampler=TorchNeighborSampler(data, [2, 2]),
    )
    batches = list(loader)
    assert len(batches) == 3
    for batch in batches:
        assert torch.equal(batch.x.view(-1), batch.n_id.float())
        assert torch.equal(
            batch.n_id[batch.edge_index], data.edge_index[:, batch.e_id]
        )


def test_bidirectional(make_graph):
    data = make_graph('homo')
    sampler = TorchNeighborSampler(data, [1], subgraph_type='bidirectional')
    out = sampler.sample_from_nodes(NodeSamplerInput(None, torch.tensor([2])))
    pairs = set(zip(out.row.tolist(), out.col.tolist()))
    assert all((c, r) in pairs for r, c in pairs)


def test_unsupported_options_raise(make_graph):
    data = make_graph('homo')
    data.time = torch.arange(8)
    data.weight = torch.ones(data.num_edges)
    with pytest.raises(NotImplementedError, match='temporal'):
        TorchNeighborSampler(data, [1], time_attr='time')
    with pytest.raises(NotImplementedError, match='weighted'):
        TorchNeighborSampler(data, [1], weight_attr='weight')
    with pytest.raises(NotImplementedError, match='induced'):
        TorchNeighborSampler(data, [1], subgraph_type='induced')
    with pytest.raises(NotImplementedError, match='induced'):
        TorchNeighborSampler(data, [1], directed=False)
    with pytest.raises(NotImplementedError, match="'forward'"):
        TorchNeighborSampler(data, [1], sample_direction='backward')
    sampler = TorchNeighborSampler(data, [1])
    with pytest.raises(NotImplementedError, match='seed_time'):
        sampler._sample(torch.tensor([0]), seed_time=torch.tensor([0]))


@pytest.mark.parametrize(
    'name', ['replace', 'disjoint', 'is_sorted', 'share_memory', 'directed']
)
def test_flags_must_be_bools(make_graph, name):
    with pytest.raises(TypeError, match=f"'{name}' must be a bool"):
        TorchNeighborSampler(make_graph('homo'), [1], **{name: 'no'})


def test_seed_and_generator_are_checked(make_graph):
    data = make_graph('homo')
    with pytest.raises(TypeError, match="'generator' must be a torch"):
        TorchNeighborSampler(data, [1], generator=0)
    with pytest.raises(TypeError, match="'seed' must be an int"):
        TorchNeighborSampler(data, [1], seed='1')
    with pytest.raises(ValueError, match="at most one of 'seed' and"):
        TorchNeighborSampler(
            data, [1], seed=1, generator=torch.Generator().manual_seed(1)
        )


def test_repr(make_graph):
    sampler = TorchNeighborSampler(make_graph('homo'), [2, 1], disjoint=True)
    assert repr(sampler) == (
        'TorchNeighborSampler(num_neighbors=[2, 1], '
        'replace=False, disjoint=True, '
        "subgraph_type='directional')"
    )
