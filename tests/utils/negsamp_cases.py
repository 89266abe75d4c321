r"""Graphs, strategies and checks shared by the tests of the drop-in
negative sampling functions."""

import warnings

import torch
from hypothesis import settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=40, deadline=None)
EDGE_INDEX = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@st.composite
def graphs(draw, bipartite=False, max_nodes=8, max_edges=24):
    r"""``(edge_index, num_src, num_dst)`` of a random small graph (with
    repeated edges and loops)."""
    num_src = draw(st.integers(1, max_nodes))
    num_dst = draw(st.integers(1, max_nodes)) if bipartite else num_src
    num_edges = draw(st.integers(0, max_edges))
    row = draw(
        st.lists(
            st.integers(0, num_src - 1), min_size=num_edges, max_size=num_edges
        )
    )
    col = draw(
        st.lists(
            st.integers(0, num_dst - 1), min_size=num_edges, max_size=num_edges
        )
    )
    edge_index = torch.tensor([row, col], dtype=torch.long).view(2, -1)
    return edge_index, num_src, num_dst


def positive_set(edge_index, undirected=False):
    pairs = set(map(tuple, edge_index.t().tolist()))
    if undirected:
        pairs |= {(v, u) for u, v in pairs}
    return pairs


def valid_pairs(edge_index, num_src, num_dst, kind):
    r"""Every pair a call may return: ordered non-loops of a directed graph,
    every pair of a bipartite one, :math:`u < v` of an undirected one."""
    pos = positive_set(edge_index, kind == 'undirected')
    return {
        (u, v)
        for u in range(num_src)
        for v in range(num_dst)
        if (u, v) not in pos
        and (kind == 'bipartite' or u != v)
        and (kind != 'undirected' or u < v)
    }


def sample_quietly(func, *args, **kwargs):
    r"""Calls :obj:`func` and returns its output and whether it warned of a
    shortfall."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        out = func(*args, **kwargs)
    short = [w for w in caught if 'non-edge' in str(w.message)]
    return out, len(short) > 0
