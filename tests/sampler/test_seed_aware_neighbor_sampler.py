import pytest
import torch
import torch_geometric.loader
from torch_geometric.sampler import SamplerOutput

from torch_geometric_negsamp import UniformSampler
from torch_geometric_negsamp.sampler import SeedAwareNeighborSampler


def _seeds_only(self, seed, seed_time=None, **kwargs):
    r"""A stand-in for PyG's compiled backends (absent here): the
    subgraph of the seeds alone, in pyg-lib's output format."""
    empty = torch.empty(0, dtype=torch.long)
    batch = torch.arange(seed.numel()) if self.disjoint else None
    return SamplerOutput(
        node=seed, row=empty, col=empty, edge=empty, batch=batch
    )


@pytest.mark.parametrize('disjoint', [False, True])
def test_negatives_bound_on_pyg_backend(make_graph, monkeypatch, disjoint):
    monkeypatch.setattr(SeedAwareNeighborSampler, '_sample', _seeds_only)
    edges = [
        (u, v) for u in range(5) for v in range(5) if v not in (u, (u + 2) % 5)
    ]
    data = make_graph('homo', edges, 5)
    with pytest.warns(UserWarning, match='pyg-lib'):
        neighbor_sampler = SeedAwareNeighborSampler(
            data, [1], disjoint=disjoint
        )
    loader = torch_geometric.loader.LinkNeighborLoader(
        data,
        [1],
        batch_size=4,
        neighbor_sampler=neighbor_sampler,
        neg_sampling=UniformSampler('triplet', 2).fit(data),
    )
    for batch in loader:
        src = batch.n_id[batch.src_index]
        neg = batch.n_id[batch.dst_neg_index]
        assert torch.equal(neg, ((src + 2) % 5).view(-1, 1).expand(-1, 2))


def test_repr(make_graph):
    with pytest.warns(UserWarning, match='pyg-lib'):
        sampler = SeedAwareNeighborSampler(make_graph('homo'), [3])
    assert repr(sampler) == (
        'SeedAwareNeighborSampler(num_neighbors=[3], '
        'replace=False, disjoint=False, '
        "subgraph_type='directional')"
    )
