r"""Reference sets and small knowledge graphs for the SANS tests: breadth-
first neighbourhoods on Python sets, written independently of the
library's matrix powers."""

import torch
from hypothesis import strategies as st


def triples_tensor(triples):
    return torch.tensor(triples, dtype=torch.long).view(-1, 3).t()


def one(h, r, t):
    return torch.tensor([h]), torch.tensor([r]), torch.tensor([t])


def bfs_neighborhoods(train, n, k, include_self=False):
    r"""Entities within k hops of each entity in the undirected graph of
    the triples (every relation), by breadth-first search on Python sets.
    """
    adj = [set() for _ in range(n)]
    for h, _, t in train:
        adj[h].add(t)
        adj[t].add(h)
    out = []
    for e in range(n):
        seen, frontier = {e}, {e}
        for _ in range(k):
            frontier = set().union(*[adj[v] for v in frontier]) - seen
            seen |= frontier
        out.append(seen if include_self else seen - {e})
    return out


def neighborhood_sets(corruption, n):
    e = torch.arange(n).view(-1, 1).expand(-1, n)
    inside = corruption.in_neighborhood(e, e.t())
    return [set(row.nonzero().view(-1).tolist()) for row in inside]


@st.composite
def knowledge_graphs(draw, max_entities=7):
    n = draw(st.integers(1, max_entities))
    num_rel = draw(st.integers(1, 3))
    triple = st.tuples(
        st.integers(0, n - 1),
        st.integers(0, num_rel - 1),
        st.integers(0, n - 1),
    )
    train = draw(st.lists(triple, min_size=1, max_size=2 * n * num_rel))
    extra = draw(st.lists(triple, max_size=4))
    batch = draw(st.lists(st.sampled_from(train + extra), min_size=1))
    return n, num_rel, train, extra, batch


def star_of_stars():
    # Entity 0 links to 1..8 (relation 0); each of them to four leaves
    # (relation 1): 8 one-hop and 32 two-hop neighbours of 0 among 41.
    triples = [(0, 0, i) for i in range(1, 9)]
    triples += [
        (i, 1, 9 + 4 * (i - 1) + j) for i in range(1, 9) for j in range(4)
    ]
    return triples_tensor(triples)
