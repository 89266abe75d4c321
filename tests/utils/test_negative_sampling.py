import time
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare
from torch_geometric.utils import (
    structured_negative_sampling_feasible as pyg_feasible,
)

import torch_geometric_negsamp.functional as F
from torch_geometric_negsamp import PositiveIndex
from torch_geometric_negsamp.functional import (
    batched_negative_sampling,
    negative_sampling,
    structured_negative_sampling,
    structured_negative_sampling_feasible,
)

SETTINGS = settings(max_examples=40, deadline=None)
EDGE_INDEX = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@st.composite
def graphs(draw, bipartite=False, max_nodes=8, max_edges=24):
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


def sample_quietly(func, *args, **kwargs):
    r"""Calls :obj:`func` and returns its output and whether it warned of a
    shortfall."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        out = func(*args, **kwargs)
    short = [w for w in caught if 'non-edge' in str(w.message)]
    return out, len(short) > 0


# ------------------------------------------------------ negative_sampling
@SETTINGS
@given(graphs(), st.integers(0, 40), st.booleans(), st.integers(0, 2**31))
def test_negative_sampling_is_exact_homogeneous(graph, num, use_index, seed):
    edge_index, num_nodes, _ = graph
    pos = positive_set(edge_index)
    valid = {
        (u, v)
        for u in range(num_nodes)
        for v in range(num_nodes)
        if u != v and (u, v) not in pos
    }
    index = (
        PositiveIndex(edge_index, num_nodes, exclude_self=True)
        if use_index
        else None
    )
    out, short = sample_quietly(
        negative_sampling,
        edge_index,
        num_nodes,
        num,
        generator=gen(seed),
        index=index,
    )
    pairs = list(map(tuple, out.t().tolist()))
    assert len(pairs) == min(num, len(valid))
    assert len(set(pairs)) == len(pairs)
    assert set(pairs) <= valid
    assert short == (num > len(valid))


@SETTINGS
@given(
    graphs(bipartite=True),
    st.integers(0, 40),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_negative_sampling_is_exact_bipartite(graph, num, use_index, seed):
    edge_index, num_src, num_dst = graph
    pos = positive_set(edge_index)
    valid = {
        (u, v)
        for u in range(num_src)
        for v in range(num_dst)
        if (u, v) not in pos
    }
    index = PositiveIndex(edge_index, num_src, num_dst) if use_index else None
    out, short = sample_quietly(
        negative_sampling,
        edge_index,
        (num_src, num_dst),
        num,
        generator=gen(seed),
        index=index,
    )
    pairs = list(map(tuple, out.t().tolist()))
    assert len(pairs) == min(num, len(valid))
    assert len(set(pairs)) == len(pairs)
    assert set(pairs) <= valid
    assert short == (num > len(valid))


@SETTINGS
@given(graphs(), st.integers(0, 40), st.booleans(), st.integers(0, 2**31))
def test_negative_sampling_force_undirected(graph, num, use_index, seed):
    edge_index, num_nodes, _ = graph
    pos = positive_set(edge_index, undirected=True)
    valid = {
        (u, v)
        for u in range(num_nodes)
        for v in range(u + 1, num_nodes)
        if (u, v) not in pos
    }
    index = (
        PositiveIndex(
            edge_index, num_nodes, exclude_self=True, undirected=True
        )
        if use_index
        else None
    )
    out, short = sample_quietly(
        negative_sampling,
        edge_index,
        num_nodes,
        num,
        force_undirected=True,
        generator=gen(seed),
        index=index,
    )
    half = out.size(1) // 2
    assert out.size(1) == 2 * min(num // 2, len(valid))
    forward = list(map(tuple, out[:, :half].t().tolist()))
    assert torch.equal(out[:, half:], out[:, :half].flip(0))  # PyG layout
    assert all(u < v for u, v in forward)
    assert len(set(forward)) == len(forward)
    assert set(forward) <= valid
    assert short == (num // 2 > len(valid))


@SETTINGS
@given(
    st.integers(20, 60),
    st.integers(0, 40),
    st.integers(1, 20),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_negative_sampling_sparse_graphs(
    num_nodes, num_edges, num, use_index, seed
):
    # Sparse enough for the rejection path, with and without an index.
    edge_index = torch.randint(num_nodes, (2, num_edges), generator=gen(seed))
    pos = positive_set(edge_index)
    index = (
        PositiveIndex(edge_index, num_nodes, exclude_self=True)
        if use_index
        else None
    )
    out = negative_sampling(
        edge_index, num_nodes, num, generator=gen(seed), index=index
    )
    pairs = list(map(tuple, out.t().tolist()))
    assert len(set(pairs)) == len(pairs) == num
    assert not set(pairs) & pos
    assert all(u != v for u, v in pairs)


def test_negative_sampling_defaults_follow_pyg():
    # None: one per edge; a float: a ratio of the edges, truncated.
    assert negative_sampling(EDGE_INDEX).shape == (2, 4)
    assert negative_sampling(EDGE_INDEX, num_neg_samples=0.5).shape == (2, 2)
    assert negative_sampling(EDGE_INDEX, num_neg_samples=0.6).shape == (2, 2)
    assert negative_sampling(EDGE_INDEX, num_neg_samples=0).shape == (2, 0)
    # num_nodes=None: max id + 1 -> 4 nodes, so ids stay below 4.
    assert int(negative_sampling(EDGE_INDEX).max()) < 4


def test_negative_sampling_keeps_dtype():
    out = negative_sampling(EDGE_INDEX.int(), 10, 5, generator=gen())
    assert out.dtype == torch.int32
    out = negative_sampling(
        EDGE_INDEX.to(torch.int16), 100, 5, generator=gen()
    )
    assert out.dtype == torch.int16
    assert not positive_set(out.long()) & positive_set(EDGE_INDEX)


def test_negative_sampling_index_avoids_extra_positives():
    # Node 0 may not pair with 2 or 3 either (e.g. validation edges).
    extra = torch.tensor([[0, 0], [2, 3]])
    index = PositiveIndex(
        EDGE_INDEX, 4, exclude_self=True, extra_positives=extra
    )
    with pytest.warns(UserWarning, match='only 7 non-edge'):
        out = negative_sampling(
            EDGE_INDEX, num_neg_samples=100, index=index, generator=gen()
        )
    pairs = set(map(tuple, out.t().tolist()))
    assert len(pairs) == 7
    assert not pairs & {(0, 1), (0, 2), (0, 3), (1, 2), (2, 3)}


def test_negative_sampling_takes_num_nodes_from_index():
    index = PositiveIndex(EDGE_INDEX, 3, 5)  # bipartite, 3 x 5
    out = negative_sampling(
        EDGE_INDEX, num_neg_samples=11, index=index, generator=gen()
    )
    assert out.size(1) == 11
    assert int(out[0].max()) < 3 and int(out[1].max()) < 5


def test_negative_sampling_empty_inputs():
    empty = torch.empty(2, 0, dtype=torch.long)
    assert negative_sampling(empty).shape == (2, 0)  # 0 nodes, 0 asked
    with pytest.warns(UserWarning, match='only 0 non-edge'):
        out = negative_sampling(empty, 1, num_neg_samples=3)
    assert out.shape == (2, 0)  # one node: no pair without a self-loop
    out = negative_sampling(empty, 3, num_neg_samples=6, generator=gen())
    assert set(map(tuple, out.t().tolist())) == {
        (u, v) for u in range(3) for v in range(3) if u != v
    }


@pytest.mark.parametrize(
    'num_nodes,undirected', [(1000, False), (1000, True), ((1000, 800), False)]
)
def test_rejection_path_needs_no_exact_draw(
    monkeypatch, num_nodes, undirected
):
    def fail(*args, **kwargs):
        raise AssertionError('the exact draw was used')

    monkeypatch.setattr(F, '_exact_keys', fail)
    edge_index = torch.randint(800, (2, 3000), generator=gen())
    if isinstance(num_nodes, tuple):
        index = PositiveIndex(edge_index, *num_nodes)
    else:
        index = PositiveIndex(
            edge_index, num_nodes, exclude_self=True, undirected=undirected
        )
    for idx in (None, index):
        out = negative_sampling(
            edge_index,
            num_nodes,
            200,
            force_undirected=undirected,
            generator=gen(1),
            index=idx,
        )
        assert out.shape == (2, 200)
        assert not positive_set(out) & positive_set(edge_index, undirected)
        assert len(positive_set(out)) == 200


@pytest.mark.parametrize('undirected', [False, True])
def test_fallback_after_rejection_rounds_is_exact(monkeypatch, undirected):
    # No rejection round at all: everything goes through the exact draw,
    # including its one-at-a-time completion of sparse requests.
    monkeypatch.setattr(F, '_MAX_ROUNDS', 0)
    edge_index = torch.randint(200, (2, 400), generator=gen())
    out = negative_sampling(
        edge_index, 200, 60, force_undirected=undirected, generator=gen(1)
    )
    pairs = list(map(tuple, out.t().tolist()))
    assert len(pairs) == 60
    assert len(set(pairs)) == len(pairs)
    assert not set(pairs) & positive_set(edge_index, undirected)
    assert all(u != v for u, v in pairs)


def test_big_ranges_are_drawn_exactly():
    high = torch.tensor([2**61 + 5, 2**54 + 1, 7, 2**53])
    out = torch.stack([F._randint_below(high, gen(s)) for s in range(200)])
    assert bool((out >= 0).all()) and bool((out < high).all())
    # Far above 2**53 the low bits are random too (a float64 draw alone
    # would leave them zero):
    assert int((out[:, 0] % 1024).unique().numel()) > 100


# ---------------------------------------------- batched_negative_sampling
@st.composite
def batches(draw, bipartite=False):
    num_graphs = draw(st.integers(1, 4))
    parts, src_sizes, dst_sizes = [], [], []
    src_off = dst_off = 0
    for _ in range(num_graphs):
        edge_index, num_src, num_dst = draw(
            graphs(bipartite=bipartite, max_nodes=5, max_edges=10)
        )
        parts.append(edge_index + torch.tensor([[src_off], [dst_off]]))
        src_sizes.append(num_src)
        dst_sizes.append(num_dst)
        src_off += num_src
        dst_off += num_dst
    return torch.cat(parts, dim=1), src_sizes, dst_sizes


def _batch_vector(sizes):
    return torch.repeat_interleave(
        torch.arange(len(sizes)), torch.tensor(sizes)
    )


@SETTINGS
@given(
    batches(),
    st.one_of(st.none(), st.integers(0, 12), st.floats(0.0, 2.0)),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_batched_is_exact(data, num, force_undirected, seed):
    edge_index, sizes, _ = data
    batch = _batch_vector(sizes)
    out, short = sample_quietly(
        batched_negative_sampling,
        edge_index,
        batch,
        num,
        force_undirected=force_undirected,
        generator=gen(seed),
    )
    pos = positive_set(edge_index, force_undirected)
    start = 0
    col_start = 0
    any_short = False
    for g, n in enumerate(sizes):
        nodes = range(start, start + n)
        e_g = int((batch[edge_index[0]] == g).sum())
        want = (
            e_g
            if num is None
            else (int(num * e_g) if isinstance(num, float) else num)
        )
        if force_undirected:
            want //= 2
            valid = {
                (u, v)
                for u in nodes
                for v in nodes
                if u < v and (u, v) not in pos
            }
        else:
            valid = {
                (u, v)
                for u in nodes
                for v in nodes
                if u != v and (u, v) not in pos
            }
        got = min(want, len(valid))
        any_short |= want > len(valid)
        width = 2 * got if force_undirected else got
        block = out[:, col_start : col_start + width]
        col_start += width
        forward = block[:, :got]
        if force_undirected:
            assert torch.equal(block[:, got:], forward.flip(0))
        pairs = list(map(tuple, forward.t().tolist()))
        assert len(set(pairs)) == len(pairs) == got
        assert set(pairs) <= valid
        start += n
    assert col_start == out.size(1)
    assert short == any_short


@SETTINGS
@given(batches(bipartite=True), st.integers(0, 12), st.integers(0, 2**31))
def test_batched_is_exact_bipartite(data, num, seed):
    edge_index, src_sizes, dst_sizes = data
    src_batch, dst_batch = _batch_vector(src_sizes), _batch_vector(dst_sizes)
    out, _ = sample_quietly(
        batched_negative_sampling,
        edge_index,
        (src_batch, dst_batch),
        num,
        generator=gen(seed),
    )
    pos = positive_set(edge_index)
    assert bool((src_batch[out[0]] == dst_batch[out[1]]).all())
    pairs = list(map(tuple, out.t().tolist()))
    assert len(set(pairs)) == len(pairs)
    assert not set(pairs) & pos
    for g in range(len(src_sizes)):
        free = src_sizes[g] * dst_sizes[g] - len(
            {p for p in pos if int(src_batch[p[0]]) == g}
        )
        assert int((src_batch[out[0]] == g).sum()) == min(num, free)


def test_batched_gives_every_graph_its_negatives():
    # PyG stops at the last graph with edges; the trailing edgeless graph
    # 1 gets its two negatives here.
    edge_index = torch.tensor([[0], [1]])
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    out = batched_negative_sampling(edge_index, batch, 2, generator=gen())
    assert int((batch[out[0]] == 1).sum()) == 2
    assert bool((batch[out[0]] == batch[out[1]]).all())


def test_batched_fallback_rounds_are_exact(monkeypatch):
    monkeypatch.setattr(F, '_MAX_ROUNDS', 0)
    edge_index = torch.tensor([[0, 1, 40, 41], [1, 2, 41, 42]])
    batch = torch.tensor([0] * 40 + [1] * 40)
    out = batched_negative_sampling(edge_index, batch, 50, generator=gen())
    pairs = list(map(tuple, out.t().tolist()))
    assert len(set(pairs)) == len(pairs) == 100
    assert not set(pairs) & positive_set(edge_index)
    assert bool((batch[out[0]] == batch[out[1]]).all())
    assert all(u != v for u, v in pairs)


# ------------------------------------------- structured_negative_sampling
def _candidates(edge_index, num_src, num_dst, no_loops):
    pos = positive_set(edge_index)
    return {
        u: {
            v
            for v in range(num_dst)
            if (u, v) not in pos and not (no_loops and u == v)
        }
        for u in range(num_src)
    }


@SETTINGS
@given(
    graphs(),
    st.booleans(),
    st.integers(1, 3),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_structured_is_exact(graph, loops, num, use_index, seed):
    edge_index, num_nodes, _ = graph
    cand = _candidates(edge_index, num_nodes, num_nodes, not loops)
    index = (
        PositiveIndex(edge_index, num_nodes, exclude_self=not loops)
        if use_index
        else None
    )
    bad = [u for u in edge_index[0].tolist() if not cand[u]]
    feasible = structured_negative_sampling_feasible(
        edge_index, num_nodes, loops, index=index
    )
    assert feasible == (not bad)
    if edge_index.size(1) > 0:
        assert feasible == pyg_feasible(edge_index, num_nodes, loops)
    if bad:
        with pytest.raises(ValueError, match=f'node {bad[0]} is connected'):
            structured_negative_sampling(
                edge_index, num_nodes, loops, num_neg_samples=num, index=index
            )
        return
    i, j, k = structured_negative_sampling(
        edge_index,
        num_nodes,
        loops,
        num_neg_samples=num,
        generator=gen(seed),
        index=index,
    )
    assert torch.equal(i, edge_index[0]) and torch.equal(j, edge_index[1])
    assert k.shape == (
        (edge_index.size(1),) if num == 1 else (edge_index.size(1), num)
    )
    for u, row in zip(i.tolist(), k.reshape(len(i), num).tolist()):
        assert set(row) <= cand[u]


@SETTINGS
@given(graphs(bipartite=True), st.integers(1, 3), st.integers(0, 2**31))
def test_structured_is_exact_bipartite(graph, num, seed):
    edge_index, num_src, num_dst = graph
    cand = _candidates(edge_index, num_src, num_dst, False)
    bad = [u for u in edge_index[0].tolist() if not cand[u]]
    assert structured_negative_sampling_feasible(
        edge_index, (num_src, num_dst)
    ) == (not bad)
    if bad:
        with pytest.raises(ValueError, match=f'node {bad[0]} is connected'):
            structured_negative_sampling(edge_index, (num_src, num_dst))
        return
    i, _, k = structured_negative_sampling(
        edge_index,
        (num_src, num_dst),
        num_neg_samples=num,
        generator=gen(seed),
    )
    for u, row in zip(i.tolist(), k.reshape(len(i), num).tolist()):
        assert set(row) <= cand[u]


def test_structured_raises_quickly_on_a_node_connected_to_all():
    # PyG loops forever here; node 7 is connected to all 3000 nodes.
    num = 3000
    hub = torch.stack([torch.full((num,), 7), torch.arange(num)])
    edge_index = torch.cat([torch.tensor([[0, 1], [1, 2]]), hub], dim=1)
    start = time.perf_counter()
    with pytest.raises(ValueError, match='node 7 is connected to all 3000'):
        structured_negative_sampling(edge_index, num)
    assert time.perf_counter() - start < 2.0
    assert not structured_negative_sampling_feasible(edge_index, num)


def test_structured_empty_graph():
    empty = torch.empty(2, 0, dtype=torch.long)
    i, j, k = structured_negative_sampling(empty, num_neg_samples=3)
    assert i.numel() == j.numel() == 0 and k.shape == (0, 3)
    assert structured_negative_sampling_feasible(empty, 1, False)


# ------------------------------------------------------------ determinism
@pytest.mark.parametrize(
    'call',
    [
        lambda g: negative_sampling(EDGE_INDEX, 50, 30, generator=g),
        lambda g: negative_sampling(EDGE_INDEX, 5, 10, generator=g),
        lambda g: negative_sampling(
            EDGE_INDEX, 50, 30, force_undirected=True, generator=g
        ),
        lambda g: batched_negative_sampling(
            torch.tensor([[0, 5], [1, 6]]),
            torch.tensor([0] * 5 + [1] * 5),
            6,
            generator=g,
        ),
        lambda g: structured_negative_sampling(
            EDGE_INDEX, 50, generator=g, num_neg_samples=8
        )[2],
    ],
)
def test_generator_makes_draws_reproducible(call):
    assert torch.equal(call(gen(3)), call(gen(3)))
    assert not torch.equal(call(gen(3)), call(gen(4)))


# ------------------------------------------------------------- uniformity
def test_structured_is_uniform_over_non_neighbours():
    # Node 0's positives are 1, 4 and 5; without self-loops its 8 other
    # nodes must each be drawn 1/8 of the time.
    edge_index = torch.tensor([[0, 0, 0, 3], [1, 4, 5, 2]])
    _, _, k = structured_negative_sampling(
        edge_index, 12, False, num_neg_samples=8000, generator=gen(0)
    )
    counts = torch.bincount(k[0], minlength=12)
    assert counts[[0, 1, 4, 5]].sum() == 0
    assert chisquare(counts[[2, 3, 6, 7, 8, 9, 10, 11]].numpy()).pvalue > 1e-3


@pytest.mark.parametrize('num,max_rounds', [(20, 4), (600, 4), (20, 0)])
def test_negative_sampling_is_uniform_over_non_edges(
    monkeypatch, num, max_rounds
):
    # (20, 4): rejection; (600, 4): exact draw by enumeration;
    # (20, 0): exact draw completed one pair at a time.
    monkeypatch.setattr(F, '_MAX_ROUNDS', max_rounds)
    edge_index = torch.randint(30, (2, 60), generator=gen(0))
    pos = positive_set(edge_index)
    valid = sorted(
        (u, v)
        for u in range(30)
        for v in range(30)
        if u != v and (u, v) not in pos
    )
    slot = {p: i for i, p in enumerate(valid)}
    counts = torch.zeros(len(valid), dtype=torch.long)
    g = gen(1)
    for _ in range(8000 // num):
        out = negative_sampling(edge_index, 30, num, generator=g)
        for p in map(tuple, out.t().tolist()):
            counts[slot[p]] += 1
    assert int(counts.sum()) == 8000 // num * num
    assert chisquare(counts.numpy()).pvalue > 1e-3


# ---------------------------------------------------------- raise paths
@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (
            dict(edge_index=[[0], [1]]),
            TypeError,
            "'edge_index' must be a torch",
        ),
        (
            dict(edge_index=EDGE_INDEX.float()),
            TypeError,
            "'edge_index' must hold",
        ),
        (
            dict(edge_index=torch.zeros(3, 2, dtype=torch.long)),
            ValueError,
            r"'edge_index' must have shape \[2, \*\]",
        ),
        (
            dict(edge_index=torch.zeros(4, dtype=torch.long)),
            ValueError,
            "'edge_index' must have 2 dimension",
        ),
        (
            dict(num_neg_samples=True),
            TypeError,
            "'num_neg_samples' must be None",
        ),
        (
            dict(num_neg_samples='4'),
            TypeError,
            "'num_neg_samples' must be None",
        ),
        (
            dict(num_neg_samples=-1),
            ValueError,
            "'num_neg_samples' must be non-",
        ),
        (dict(num_neg_samples=float('nan')), ValueError, 'must be finite'),
        (
            dict(method='fast'),
            ValueError,
            "'method' must be 'sparse' or 'dense'",
        ),
        (
            dict(force_undirected=1),
            TypeError,
            "'force_undirected' must be a bool",
        ),
        (
            dict(generator=0),
            TypeError,
            "'generator' must be a torch.Generator",
        ),
        (dict(index=EDGE_INDEX), TypeError, "'index' must be a PositiveIndex"),
        (dict(num_nodes='4'), TypeError, "'num_nodes' must be None, an int"),
        (dict(num_nodes=4.0), TypeError, "'num_nodes' must be None, an int"),
        (dict(num_nodes=-1), ValueError, "'num_nodes' must be non-negative"),
        (
            dict(num_nodes=(3, 4, 5)),
            ValueError,
            "'num_nodes' must be an int or",
        ),
        (
            dict(num_nodes=(3, '4')),
            TypeError,
            r"'num_nodes\[1\]' must be an int",
        ),
        (dict(num_nodes=2**40), ValueError, 'too large for 64-bit'),
        (
            dict(num_nodes=3),
            ValueError,
            r"'edge_index\[1\]' holds node index 3",
        ),
        (dict(num_nodes=(2, 4)), ValueError, r"'edge_index\[0\]' holds node"),
        (
            dict(index=PositiveIndex(EDGE_INDEX, 5, exclude_self=True)),
            ValueError,
            "'index' was built for 5 x 5 nodes but 'num_nodes' gives 4 x 4",
        ),
        (
            dict(index=PositiveIndex(EDGE_INDEX, 4)),
            ValueError,
            "needs an 'index' built with exclude_self=True",
        ),
        (
            dict(
                index=PositiveIndex(EDGE_INDEX, 4, exclude_self=True),
                force_undirected=True,
            ),
            ValueError,
            'built with undirected=True',
        ),
        (
            dict(
                index=PositiveIndex(EDGE_INDEX, 4, exclude_self=True),
                num_nodes=(4, 4),
            ),
            ValueError,
            "a bipartite 'num_nodes' needs",
        ),
    ],
)
def test_negative_sampling_raises(kwargs, error, match):
    kwargs = dict(kwargs)
    edge_index = kwargs.pop('edge_index', EDGE_INDEX)
    if (
        'index' in kwargs
        and isinstance(kwargs['index'], PositiveIndex)
        and 'num_nodes' not in kwargs
    ):
        kwargs['num_nodes'] = 4
    with pytest.raises(error, match=match):
        negative_sampling(edge_index, **kwargs)


def test_index_on_another_device_raises():
    index = PositiveIndex(EDGE_INDEX, 4, exclude_self=True).to('meta')
    with pytest.raises(ValueError, match="'index' is on meta"):
        negative_sampling(EDGE_INDEX, 4, index=index)
    with pytest.raises(ValueError, match="'index' is on meta"):
        structured_negative_sampling(EDGE_INDEX, 4, False, index=index)


BATCH = torch.tensor([0, 0, 0, 0])


@pytest.mark.parametrize(
    'edge_index,batch,kwargs,error,match',
    [
        (EDGE_INDEX, [0, 0, 0, 0], {}, TypeError, "'batch' must be a tensor"),
        (
            EDGE_INDEX,
            (BATCH, BATCH, BATCH),
            {},
            TypeError,
            "'batch' must be a",
        ),
        (
            EDGE_INDEX,
            BATCH.float(),
            {},
            TypeError,
            "'batch' must hold integer",
        ),
        (
            EDGE_INDEX,
            (BATCH, BATCH.view(2, 2)),
            {},
            ValueError,
            r"'batch\[1\]' must have 1 dimension",
        ),
        (
            EDGE_INDEX,
            torch.tensor([0, 1, 0, 1]),
            {},
            ValueError,
            "'batch' must be sorted",
        ),
        (
            EDGE_INDEX,
            torch.tensor([-1, 0, 0, 0]),
            {},
            ValueError,
            "'batch' holds a negative graph id",
        ),
        (
            EDGE_INDEX,
            torch.tensor([0, 0, 0]),
            {},
            ValueError,
            r"'edge_index\[1\]' holds node index 3, out of range for 3",
        ),
        (
            EDGE_INDEX,
            torch.tensor([0, 0, 1, 1]),
            {},
            ValueError,
            "'edge_index' column 2 joins graph 0 to graph 1",
        ),
        (
            EDGE_INDEX,
            BATCH,
            dict(num_neg_samples=-2),
            ValueError,
            "'num_neg_samples' must be non-negative",
        ),
        (EDGE_INDEX, BATCH, dict(method='x'), ValueError, "'method' must be"),
        (
            EDGE_INDEX,
            BATCH,
            dict(force_undirected=None),
            TypeError,
            "'force_undirected' must be a bool",
        ),
        (
            EDGE_INDEX,
            BATCH,
            dict(generator='g'),
            TypeError,
            "'generator' must be a torch.Generator",
        ),
        (EDGE_INDEX, BATCH.to('meta'), {}, ValueError, "'batch' is on meta"),
        (EDGE_INDEX[0], BATCH, {}, ValueError, "'edge_index' must have 2 dim"),
    ],
)
def test_batched_raises(edge_index, batch, kwargs, error, match):
    with pytest.raises(error, match=match):
        batched_negative_sampling(edge_index, batch, **kwargs)


def test_batched_warns_when_a_graph_is_full():
    # Graph 1 has two nodes joined both ways: no non-edge is left in it.
    edge_index = torch.tensor([[0, 3, 4], [1, 4, 3]])
    batch = torch.tensor([0, 0, 0, 1, 1])
    with pytest.warns(UserWarning, match=r'short in 1 graph\(s\)'):
        out = batched_negative_sampling(edge_index, batch, 2, generator=gen())
    assert out.size(1) == 2 and bool((batch[out[0]] == 0).all())


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (
            dict(contains_neg_self_loops=0),
            TypeError,
            "'contains_neg_self_loops' must be a bool",
        ),
        (
            dict(num_neg_samples=0),
            ValueError,
            "'num_neg_samples' must be at least 1",
        ),
        (
            dict(num_neg_samples=1.5),
            TypeError,
            "'num_neg_samples' must be an int",
        ),
        (
            dict(generator=1),
            TypeError,
            "'generator' must be a torch.Generator",
        ),
        (dict(index='x'), TypeError, "'index' must be a PositiveIndex"),
        (
            dict(num_nodes=(2, 4)),
            ValueError,
            r"'edge_index\[0\]' holds node index 2",
        ),
        (
            dict(num_nodes=[4]),
            ValueError,
            "'num_nodes' must be an int or a pair",
        ),
        (
            dict(
                index=PositiveIndex(EDGE_INDEX, 4),
                contains_neg_self_loops=False,
            ),
            ValueError,
            "'index' must be built with exclude_self=True",
        ),
        (
            dict(index=PositiveIndex(EDGE_INDEX, 4, exclude_self=True)),
            ValueError,
            "'index' must be built with exclude_self=False",
        ),
        (
            dict(index=PositiveIndex(EDGE_INDEX, 4), num_nodes=6),
            ValueError,
            "'index' was built for 4 x 4 nodes",
        ),
    ],
)
def test_structured_raises(kwargs, error, match):
    with pytest.raises(error, match=match):
        structured_negative_sampling(EDGE_INDEX, **kwargs)
    if 'num_neg_samples' not in kwargs and 'generator' not in kwargs:
        with pytest.raises(error, match=match):
            structured_negative_sampling_feasible(EDGE_INDEX, **kwargs)


def test_structured_reuses_an_index_with_extra_positives():
    extra = torch.tensor([[0], [2]])
    index = PositiveIndex(EDGE_INDEX, 4, extra_positives=extra)
    _, _, k = structured_negative_sampling(
        EDGE_INDEX, num_neg_samples=200, index=index, generator=gen()
    )
    assert set(k[0].tolist()) == {3}  # 0's positives: 0, 1 and (extra) 2
    assert set(k[2].tolist()) == {0, 1, 3}  # 1's positive: 2


def test_drop_ins_are_exported_at_the_top_level():
    import torch_geometric_negsamp as tgn
    from torch_geometric_negsamp import functional

    for name in (
        'negative_sampling',
        'structured_negative_sampling',
        'batched_negative_sampling',
        'structured_negative_sampling_feasible',
    ):
        assert getattr(tgn, name) is getattr(functional, name)
        assert name in tgn.__all__
