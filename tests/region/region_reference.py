r"""Breadth-first references for the k-hop region tests, written with Python
sets, independently of the library's matrix powers."""

import torch
from hypothesis import strategies as st


def bipartite_reference(edge_index, num_users, num_items, k, a, extra=None):
    r"""``(adjacent, intermediate)``: lists of item sets per user. A walk
    of exactly ``j`` edges is followed layer by layer: the nodes reached
    after ``j`` steps are the neighbours of those reached after ``j - 1``.
    """
    items_of = [set() for _ in range(num_users)]
    users_of = [set() for _ in range(num_items)]
    for u, i in edge_index.t().tolist():
        items_of[u].add(i)
        users_of[i].add(u)

    def walk(u, steps):
        layer = items_of[u]
        for step in range(2, steps + 1):
            if step % 2 == 0:
                layer = set().union(*[users_of[i] for i in layer])
            else:
                layer = set().union(*[items_of[v] for v in layer])
        return layer

    return _regions(num_users, walk, k, a, extra, self_loops=False)


def homogeneous_reference(edge_index, num_nodes, k, a, extra=None):
    r"""``(adjacent, intermediate)`` of a directed graph: nodes within
    ``j`` edges by breadth-first search, the node itself included."""
    out = [set() for _ in range(num_nodes)]
    for u, v in edge_index.t().tolist():
        out[u].add(v)

    def within(u, steps):
        seen, frontier = {u}, {u}
        for _ in range(steps):
            frontier = set().union(*[out[v] for v in frontier]) - seen
            seen |= frontier
        return seen

    return _regions(num_nodes, within, k, a, extra, self_loops=True)


def _regions(num_users, reach, k, a, extra, self_loops):
    adjacent, intermediate = [], []
    for u in range(num_users):
        adj = set(reach(u, a))
        if self_loops:
            adj.add(u)
        if extra is not None:
            adj |= {v for w, v in extra.t().tolist() if w == u}
        adjacent.append(adj)
        intermediate.append(set(reach(u, k)) - adj)
    return adjacent, intermediate


def labels(adjacent, intermediate, num_items):
    r"""The ``[users, items]`` region labels (0 distant, 1 intermediate, 2
    adjacent) of reference sets."""
    out = torch.zeros(len(adjacent), num_items, dtype=torch.long)
    for u, (adj, mid) in enumerate(zip(adjacent, intermediate)):
        out[u, list(mid)] = 1
        out[u, list(adj)] = 2
    return out


@st.composite
def bipartite_graphs(draw, max_users=8, max_items=10):
    num_users = draw(st.integers(1, max_users))
    num_items = draw(st.integers(1, max_items))
    pair = st.tuples(
        st.integers(0, num_users - 1), st.integers(0, num_items - 1)
    )
    edges = draw(st.lists(pair, max_size=3 * max_items))
    extra = draw(st.lists(pair, max_size=3))
    edge_index = torch.tensor(edges, dtype=torch.long).view(-1, 2).t()
    extra = torch.tensor(extra, dtype=torch.long).view(-1, 2).t()
    return edge_index, num_users, num_items, extra


@st.composite
def homogeneous_graphs(draw, max_nodes=10):
    num_nodes = draw(st.integers(1, max_nodes))
    pair = st.tuples(
        st.integers(0, num_nodes - 1), st.integers(0, num_nodes - 1)
    )
    edges = draw(st.lists(pair, max_size=2 * max_nodes))
    extra = draw(st.lists(pair, max_size=3))
    edge_index = torch.tensor(edges, dtype=torch.long).view(-1, 2).t()
    extra = torch.tensor(extra, dtype=torch.long).view(-1, 2).t()
    return edge_index, num_nodes, extra
