import warnings

import pytest
import torch
import torch_geometric.loader
import torch_geometric.typing
from torch_geometric.data import HeteroData
from torch_geometric.sampler import NegativeSampling

import torch_geometric_negsamp.sampler.seed_aware_mixin as seed_aware_mixin
from torch_geometric_negsamp import UniformSampler, UnsatisfiableError
from torch_geometric_negsamp.loader import LinkNeighborLoader
from torch_geometric_negsamp.sampler import (
    SeedAwareNeighborSampler,
    SeedAwareTorchNeighborSampler,
    TorchNeighborSampler,
    neighbor_backend,
)

RATES = ('user', 'rates', 'item')


class DeterministicSampler(UniformSampler):
    r"""Draws a known function of the source, so that the pairing of every
    negative with its positive can be read back from a mini-batch:
    negative :math:`j` of source :math:`u` is :math:`(3u + j + 1) \bmod
    |V_{dst}|`; binary pairs are :math:`(u_j, 3u_j + 1)` for varying
    :math:`u_j`."""

    def _sample_rows(self, src, dst_pos, num_neg, index, edge_type, generator):
        j = torch.arange(num_neg, device=src.device).view(1, -1)
        return expected_negatives(src.view(-1, 1), j, index.num_dst_nodes)

    def sample_pairs(self, num_samples, *, edge_type=None):
        index = self.index(edge_type)
        src = (5 * torch.arange(num_samples) + 1) % index.num_src_nodes
        return src, expected_negatives(src, 0, index.num_dst_nodes)


def expected_negatives(src, j, num_dst):
    return (3 * src + j + 1) % num_dst


def loader_args(kind):
    if kind == 'homo':
        return {}
    return {'edge_label_index': RATES}


def node_ids(batch):
    r"""Returns (source n_id, destination n_id, store with the labels)."""
    if isinstance(batch, HeteroData):
        return batch['user'].n_id, batch['item'].n_id, batch
    return batch.n_id, batch.n_id, batch


def positives_of(data):
    if isinstance(data, HeteroData):
        return data[RATES].edge_index, data['item'].num_nodes
    return data.edge_index, data.num_nodes


def read_batch(batch, mode):
    r"""Maps a mini-batch back to global ids: returns (input_id, src [B],
    dst_pos [B], negatives) with negatives [B, k] in triplet mode and a
    pair of [N] tensors in binary mode."""
    src_id, dst_id, _ = node_ids(batch)
    if isinstance(batch, HeteroData):
        input_id = batch[RATES].input_id
        if mode == 'triplet':
            src_index = batch['user'].src_index
            dst_pos_index = batch['item'].dst_pos_index
            dst_neg_index = batch['item'].dst_neg_index
        else:
            label_index = batch[RATES].edge_label_index
            label = batch[RATES].edge_label
    else:
        input_id = batch.input_id
        if mode == 'triplet':
            src_index = batch.src_index
            dst_pos_index = batch.dst_pos_index
            dst_neg_index = batch.dst_neg_index
        else:
            label_index = batch.edge_label_index
            label = batch.edge_label
    num_pos = input_id.numel()
    if mode == 'triplet':
        neg = dst_id[dst_neg_index].view(num_pos, -1)
        return (input_id, src_id[src_index], dst_id[dst_pos_index], neg)
    assert bool((label[:num_pos] == 1).all())
    assert bool((label[num_pos:] == 0).all())
    return (
        input_id,
        src_id[label_index[0, :num_pos]],
        dst_id[label_index[1, :num_pos]],
        (src_id[label_index[0, num_pos:]], dst_id[label_index[1, num_pos:]]),
    )


def pairing_ok(batch, mode, num_dst):
    _, src, _, neg = read_batch(batch, mode)
    if mode == 'triplet':
        j = torch.arange(neg.size(1)).view(1, -1)
        return torch.equal(
            neg, expected_negatives(src.view(-1, 1), j, num_dst)
        )
    src_neg, dst_neg = neg
    return torch.equal(dst_neg, expected_negatives(src_neg, 0, num_dst))


@pytest.mark.parametrize('kind', ['homo', 'hetero'])
@pytest.mark.parametrize('mode', ['triplet', 'binary'])
@pytest.mark.parametrize('disjoint', [False, True])
@pytest.mark.parametrize('amount', [1, 3])
def test_exact_pairing_layout(make_graph, kind, mode, disjoint, amount):
    data = make_graph(kind)
    edge_index, num_dst = positives_of(data)
    sampler = DeterministicSampler(mode, amount)
    loader = LinkNeighborLoader(
        data,
        [2],
        neg_sampling=sampler,
        batch_size=4,
        disjoint=disjoint,
        **loader_args(kind),
    )
    seen = []
    for batch in loader:
        input_id, src, dst_pos, neg = read_batch(batch, mode)
        num_pos = input_id.numel()
        # The positives are the input edges, in order:
        assert torch.equal(
            torch.stack([src, dst_pos]), edge_index[:, input_id]
        )
        assert pairing_ok(batch, mode, num_dst)
        if mode == 'triplet':
            dst_neg_index = (
                batch['item'].dst_neg_index
                if kind == 'hetero'
                else batch.dst_neg_index
            )
            # PyG squeezes the trailing dimension when k == 1:
            shape = (num_pos,) if amount == 1 else (num_pos, amount)
            assert dst_neg_index.shape == shape
        else:
            assert neg[0].numel() == num_pos * amount
        seen.append(input_id)
    assert torch.equal(torch.cat(seen), torch.arange(edge_index.size(1)))


@pytest.mark.parametrize('kind', ['homo', 'hetero'])
@pytest.mark.parametrize('disjoint', [False, True])
def test_pairing_check_catches_wrong_triplet_layout(
    make_graph, monkeypatch, kind, disjoint
):
    data = make_graph(kind)
    _, num_dst = positives_of(data)
    layout = seed_aware_mixin._triplet_layout
    monkeypatch.setattr(
        seed_aware_mixin,
        '_triplet_layout',
        lambda neg, disjoint: layout(neg, not disjoint),
    )
    loader = LinkNeighborLoader(
        data,
        [2],
        batch_size=4,
        disjoint=disjoint,
        neg_sampling=DeterministicSampler('triplet', 3),
        **loader_args(kind),
    )
    assert not all(pairing_ok(batch, 'triplet', num_dst) for batch in loader)


@pytest.mark.parametrize('kind', ['homo', 'hetero'])
def test_pairing_check_catches_wrong_binary_layout(
    make_graph, monkeypatch, kind
):
    data = make_graph(kind)
    _, num_dst = positives_of(data)
    stand_in = seed_aware_mixin._BatchNegativeSampling
    sample = stand_in.sample

    def reversed_dst(self, num_samples, endpoint, num_nodes=None):
        out = sample(self, num_samples, endpoint, num_nodes)
        return out.flip(0) if endpoint == 'dst' else out

    monkeypatch.setattr(stand_in, 'sample', reversed_dst)
    loader = LinkNeighborLoader(
        data,
        [2],
        batch_size=4,
        neg_sampling=DeterministicSampler('binary', 3),
        **loader_args(kind),
    )
    assert not any(pairing_ok(batch, 'binary', num_dst) for batch in loader)


# A dense graph on 6 nodes: u -> v for all v except u, u+1 and u+2; the
# edges u -> u+1 are held out (validation), so u -> u+2 is the only valid
# negative of u.
DENSE_HOMO = [
    (u, v) for u in range(6) for v in range(6) if (v - u) % 6 not in (0, 1, 2)
]
HELD_OUT_HOMO = torch.tensor([[u, (u + 1) % 6] for u in range(6)]).t()
# 4 users x 5 items: user u misses items u and u + 1; (u, u) is held out.
DENSE_HETERO = [
    (u, i) for u in range(4) for i in range(5) if i not in (u, u + 1)
]
HELD_OUT_HETERO = torch.tensor([[u, u] for u in range(4)]).t()


def dense_graph(make_graph, kind):
    if kind == 'homo':
        return make_graph('homo', DENSE_HOMO, 6), HELD_OUT_HOMO
    return make_graph('hetero', DENSE_HETERO, (4, 5)), HELD_OUT_HETERO


def count_false_negatives(loader, mode, known):
    bad = total = 0
    for batch in loader:
        _, src, _, neg = read_batch(batch, mode)
        if mode == 'triplet':
            pairs = zip(
                src.view(-1, 1).expand_as(neg).reshape(-1).tolist(),
                neg.reshape(-1).tolist(),
            )
        else:
            pairs = zip(neg[0].tolist(), neg[1].tolist())
        for pair in pairs:
            bad += pair in known
            total += 1
    return bad, total


@pytest.mark.parametrize('kind', ['homo', 'hetero'])
@pytest.mark.parametrize('mode', ['triplet', 'binary'])
@pytest.mark.parametrize('disjoint', [False, True])
@pytest.mark.parametrize('amount', [1, 3])
def test_no_false_negatives(make_graph, kind, mode, disjoint, amount):
    torch.manual_seed(0)
    data, held_out = dense_graph(make_graph, kind)
    edge_index, _ = positives_of(data)
    known = set(map(tuple, edge_index.t().tolist()))
    with_held_out = known | set(map(tuple, held_out.t().tolist()))
    if kind == 'homo':
        with_held_out |= {(u, u) for u in range(6)}

    # PyG's own loader, same neighbour backend: many false negatives.
    stock = torch_geometric.loader.LinkNeighborLoader(
        data,
        [2],
        batch_size=4,
        disjoint=disjoint,
        neg_sampling=NegativeSampling(mode, amount),
        neighbor_sampler=TorchNeighborSampler(data, [2], disjoint=disjoint),
        **loader_args(kind),
    )
    bad, total = count_false_negatives(stock, mode, known)
    assert total == edge_index.size(1) * amount and bad > 0

    extra = held_out if kind == 'homo' else {RATES: held_out}
    ours = LinkNeighborLoader(
        data,
        [2],
        batch_size=4,
        disjoint=disjoint,
        neg_sampling=UniformSampler(mode, amount),
        extra_positives=extra,
        **loader_args(kind),
    )
    bad, total = count_false_negatives(ours, mode, with_held_out)
    assert total == edge_index.size(1) * amount and bad == 0


@pytest.mark.parametrize('disjoint', [False, True])
def test_drop_removes_exactly_the_unsatisfiable(make_graph, disjoint):
    # Node 0 points at every other node: it has no valid negative. Its
    # edges alternate with satisfiable ones, so every batch keeps some.
    edges = [
        (0, 1),
        (1, 2),
        (0, 2),
        (2, 3),
        (0, 3),
        (3, 4),
        (0, 4),
        (4, 5),
        (0, 5),
        (5, 1),
    ]
    data = make_graph('homo', edges, 6)
    sampler = UniformSampler('triplet', 2, on_unsatisfiable='drop')
    loader = LinkNeighborLoader(
        data, [1], batch_size=4, disjoint=disjoint, neg_sampling=sampler
    )
    known = set(edges) | {(u, u) for u in range(6)}
    kept = []
    with pytest.warns(UserWarning, match='dropped'):
        for batch in loader:
            input_id, src, dst_pos, neg = read_batch(batch, 'triplet')
            assert torch.equal(
                torch.stack([src, dst_pos]), data.edge_index[:, input_id]
            )
            assert neg.shape == (input_id.numel(), 2)
            assert not any(
                (u, v) in known
                for u, row in zip(src.tolist(), neg.tolist())
                for v in row
            )
            kept.append(input_id)
    assert torch.cat(kept).tolist() == [1, 3, 5, 7, 9]
    assert sampler.num_dropped == 5


def test_drop_of_a_whole_batch_raises(make_graph):
    data = make_graph('homo', [(0, v) for v in range(1, 6)] + [(1, 2)], 6)
    loader = LinkNeighborLoader(
        data,
        [1],
        batch_size=5,
        neg_sampling=UniformSampler('triplet', on_unsatisfiable='drop'),
    )
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(UnsatisfiableError, match='every positive'):
            next(iter(loader))


def test_unsatisfiable_raises_by_default(make_graph):
    data = make_graph('homo', [(0, v) for v in range(1, 6)] + [(1, 2)], 6)
    loader = LinkNeighborLoader(
        data, [1], batch_size=6, neg_sampling=UniformSampler('triplet')
    )
    with pytest.raises(UnsatisfiableError, match='no valid negative'):
        next(iter(loader))


def negatives_of(loader):
    return [read_batch(batch, 'triplet')[3] for batch in loader]


def test_workers_reproducible_and_distinct(make_graph):
    # 200 nodes, and the same 6 positives twice: batch 0 goes to worker 0
    # and batch 1 to worker 1, so with one shared stream they would draw
    # the very same negatives.
    edges = [(u, (7 * u + 3) % 200) for u in range(6)]
    data = make_graph('homo', edges, 200)
    label_index = torch.cat([data.edge_index, data.edge_index], dim=1)

    def run(num_workers):
        torch.manual_seed(1)
        sampler = UniformSampler('triplet', 3, seed=5)
        loader = LinkNeighborLoader(
            data,
            [1],
            edge_label_index=label_index,
            batch_size=6,
            neg_sampling=sampler,
            num_workers=num_workers,
        )
        # With workers, the index of positives lives in shared memory:
        assert sampler.index().keys.is_shared() == (num_workers > 0)
        return negatives_of(loader)

    first, second = run(2), run(2)
    assert len(first) == 2
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert not torch.equal(first[0], first[1])
    in_process = run(0)
    assert torch.equal(in_process[0], run(0)[0])


def test_other_neg_sampling_passes_through(make_graph):
    data = make_graph('homo')
    loader = LinkNeighborLoader(
        data, [2], batch_size=4, neg_sampling=NegativeSampling('triplet', 2)
    )
    batch = next(iter(loader))
    assert batch.dst_neg_index.shape == (4, 2)
    loader = LinkNeighborLoader(data, [2], batch_size=4)
    batch = next(iter(loader))
    assert batch.edge_label_index.shape == (2, 4)
    expected = (
        SeedAwareTorchNeighborSampler
        if neighbor_backend() == 'torch'
        else SeedAwareNeighborSampler
    )
    assert type(loader.link_sampler) is expected


def test_float_amount_binary(make_graph):
    data = make_graph('homo')
    loader = LinkNeighborLoader(
        data, [1], batch_size=4, neg_sampling=UniformSampler('binary', 1.5)
    )
    batch = next(iter(loader))
    assert batch.edge_label_index.shape == (2, 4 + 6)
    assert float(batch.edge_label.sum()) == 4.0


def test_fits_on_edges_and_label_edges(make_graph):
    data = make_graph('homo')
    label_index = torch.tensor([[0, 1], [5, 6]])  # not edges of the graph
    sampler = UniformSampler()
    LinkNeighborLoader(
        data,
        [1],
        edge_label_index=label_index,
        neg_sampling=sampler,
        extra_positives=[torch.tensor([[2], [7]])],
    )
    index = sampler.index()
    assert bool(index.contains(data.edge_index[0], data.edge_index[1]).all())
    assert bool(index.contains(label_index[0], label_index[1]).all())
    assert bool(index.contains(torch.tensor([2]), torch.tensor([7])).all())
    assert not bool(index.contains(torch.tensor([2]), torch.tensor([6])))


def test_hetero_fits_the_label_edge_type(make_graph):
    data = make_graph('hetero')
    sampler = UniformSampler()
    LinkNeighborLoader(
        data,
        [1],
        edge_label_index=RATES,
        neg_sampling=sampler,
        extra_positives={('user', 'item'): torch.tensor([[0], [4]])},
    )
    assert list(sampler._indices) == [RATES]
    assert bool(
        sampler.index(RATES).contains(torch.tensor([0]), torch.tensor([4]))
    )
