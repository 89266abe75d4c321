import pytest
import torch
import torch_geometric.typing
from torch_geometric.data import Data, HeteroData

# A small directed graph on 8 nodes: a ring, chords of length 2 and 3.
HOMO_EDGES = (
    [(i, (i + 1) % 8) for i in range(8)]
    + [(i, (i + 2) % 8) for i in range(8)]
    + [(0, 3), (5, 1)]
)
# Users rate items; every user misses at least one item.
HETERO_EDGES = [
    (0, 0),
    (0, 1),
    (1, 1),
    (1, 2),
    (1, 3),
    (2, 0),
    (2, 4),
    (3, 2),
    (3, 3),
    (3, 4),
]
USER, ITEM = 4, 5
RATES = ('user', 'rates', 'item')


def homo_graph(edges=HOMO_EDGES, num_nodes=8) -> Data:
    edge_index = torch.tensor(edges, dtype=torch.long).t().contiguous()
    return Data(
        edge_index=edge_index,
        num_nodes=num_nodes,
        x=torch.arange(num_nodes, dtype=torch.float).view(-1, 1),
    )


def hetero_graph(
    edges=HETERO_EDGES, num_users=USER, num_items=ITEM
) -> HeteroData:
    edge_index = torch.tensor(edges, dtype=torch.long).t().contiguous()
    data = HeteroData()
    data['user'].num_nodes = num_users
    data['item'].num_nodes = num_items
    data['user', 'rates', 'item'].edge_index = edge_index
    data['item', 'rated_by', 'user'].edge_index = edge_index.flip(0)
    return data


@pytest.fixture
def make_graph():
    r"""Returns a builder: ``make_graph('homo' | 'hetero', edges=None,
    num_nodes=None)``; :obj:`num_nodes` is an int for 'homo' and a pair
    (users, items) for 'hetero'."""

    def build(kind: str, edges=None, num_nodes=None):
        if kind == 'homo':
            return homo_graph(edges or HOMO_EDGES, num_nodes or 8)
        num_users, num_items = num_nodes or (USER, ITEM)
        return hetero_graph(edges or HETERO_EDGES, num_users, num_items)

    return build


@pytest.fixture
def installed(monkeypatch):
    r"""Pretends that exactly the given compiled backends are installed."""

    def pretend(pyg_lib: bool, torch_sparse: bool):
        monkeypatch.setattr(torch_geometric.typing, 'WITH_PYG_LIB', pyg_lib)
        monkeypatch.setattr(
            torch_geometric.typing, 'WITH_TORCH_SPARSE', torch_sparse
        )

    return pretend
