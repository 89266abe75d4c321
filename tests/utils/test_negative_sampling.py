from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from negsamp_cases import (
    EDGE_INDEX,
    SETTINGS,
    gen,
    graphs,
    positive_set,
    sample_quietly,
    valid_pairs,
)
from scipy.stats import chisquare

from torch_geometric_negsamp import PositiveIndex
from torch_geometric_negsamp.utils import _exact, _rejection, negative_sampling

KINDS = ['directed', 'undirected', 'bipartite']


def _index(edge_index, num_src, num_dst, kind):
    if kind == 'bipartite':
        return PositiveIndex(edge_index, num_src, num_dst)
    return PositiveIndex(
        edge_index,
        num_src,
        exclude_self=True,
        undirected=kind == 'undirected',
    )


def _call(edge_index, num_src, num_dst, kind, num, **kwargs):
    num_nodes = (num_src, num_dst) if kind == 'bipartite' else num_src
    return sample_quietly(
        negative_sampling,
        edge_index,
        num_nodes,
        num,
        force_undirected=kind == 'undirected',
        **kwargs,
    )


def _forward_pairs(out, kind):
    r"""The sampled pairs; with force_undirected, checks PyG's layout (the
    pairs, then their reverses) and returns the first half."""
    if kind == 'undirected':
        half = out.size(1) // 2
        assert torch.equal(out[:, half:], out[:, :half].flip(0))
        out = out[:, :half]
    return list(map(tuple, out.t().tolist()))


# ------------------------------------------- exactness (hypothesis)
@pytest.mark.parametrize('kind', KINDS)
@SETTINGS
@given(
    data=st.data(),
    num=st.integers(0, 40),
    use_index=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_no_pair_is_a_positive_and_the_count_is_exact(
    kind, data, num, use_index, seed
):
    edge_index, num_src, num_dst = data.draw(graphs(kind == 'bipartite'))
    valid = valid_pairs(edge_index, num_src, num_dst, kind)
    index = _index(edge_index, num_src, num_dst, kind) if use_index else None
    out, short = _call(
        edge_index,
        num_src,
        num_dst,
        kind,
        num,
        generator=gen(seed),
        index=index,
    )
    pairs = _forward_pairs(out, kind)
    want = num // 2 if kind == 'undirected' else num
    assert len(pairs) == min(want, len(valid))
    assert len(set(pairs)) == len(pairs)
    assert set(pairs) <= valid
    assert short == (want > len(valid))


@SETTINGS
@given(
    st.integers(20, 60),
    st.integers(0, 40),
    st.integers(1, 20),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_sparse_graphs_take_the_rejection_path_exactly(
    num_nodes, num_edges, num, use_index, seed
):
    edge_index = torch.randint(num_nodes, (2, num_edges), generator=gen(seed))
    index = _index(edge_index, num_nodes, num_nodes, 'directed')
    out = negative_sampling(
        edge_index,
        num_nodes,
        num,
        generator=gen(seed),
        index=index if use_index else None,
    )
    pairs = list(map(tuple, out.t().tolist()))
    assert len(set(pairs)) == len(pairs) == num
    assert set(pairs) <= valid_pairs(
        edge_index, num_nodes, num_nodes, 'directed'
    )


# ------------------------------------ the one pair that must come back
def _all_but(missing, num_src, num_dst, kind):
    r"""Every valid pair of the space as an edge, except :obj:`missing`."""
    everything = valid_pairs(
        torch.empty(2, 0, dtype=torch.long), num_src, num_dst, kind
    )
    edges = sorted(everything - {missing})
    return torch.tensor(edges, dtype=torch.long).t().reshape(2, -1)


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('use_index', [False, True])
def test_the_single_non_edge_is_returned(kind, use_index):
    # Issue 7 ("a single valid pair that negative_sampling never returns
    # goes unnoticed"): whichever key the only non-edge has (first, last or
    # in between), it is the answer.
    num_src, num_dst = (3, 4) if kind == 'bipartite' else (4, 4)
    empty = torch.empty(2, 0, dtype=torch.long)
    for missing in sorted(valid_pairs(empty, num_src, num_dst, kind)):
        edge_index = _all_but(missing, num_src, num_dst, kind)
        index = _index(edge_index, num_src, num_dst, kind)
        two = 2 if kind == 'undirected' else 1
        out, short = _call(
            edge_index,
            num_src,
            num_dst,
            kind,
            two,
            generator=gen(),
            index=index if use_index else None,
        )
        assert _forward_pairs(out, kind) == [missing] and not short
        out, short = _call(
            edge_index,
            num_src,
            num_dst,
            kind,
            3 * two,
            generator=gen(),
            index=index if use_index else None,
        )
        assert _forward_pairs(out, kind) == [missing] and short


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('use_index', [False, True])
def test_uniform_over_a_few_non_edges(kind, use_index):
    # Three non-edges: the first key of the space, the last and one in the
    # middle, each drawn a third of the time (one pair per call).
    num_src, num_dst = (3, 4) if kind == 'bipartite' else (4, 4)
    empty = torch.empty(2, 0, dtype=torch.long)
    space = sorted(valid_pairs(empty, num_src, num_dst, kind))
    free = [space[0], space[len(space) // 2], space[-1]]
    edges = sorted(set(space) - set(free))
    edge_index = torch.tensor(edges).t()
    index = _index(edge_index, num_src, num_dst, kind) if use_index else None
    g = gen(5)
    counts = dict.fromkeys(free, 0)
    for _ in range(300):
        out, _ = _call(
            edge_index,
            num_src,
            num_dst,
            kind,
            2 if kind == 'undirected' else 1,
            generator=g,
            index=index,
        )
        (pair,) = _forward_pairs(out, kind)
        counts[pair] += 1
    assert sum(counts.values()) == 300
    assert chisquare(list(counts.values())).pvalue > 1e-3


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('use_index', [False, True])
def test_rejection_path_returns_every_non_edge(monkeypatch, kind, use_index):
    # The rejection path alone (the exact draw is disabled) must reach every
    # valid pair, the first and last keys of the space included.
    def fail(*args, **kwargs):
        raise AssertionError('the exact draw was used')

    monkeypatch.setattr(_rejection, 'exact_keys', fail)
    num_src, num_dst = (10, 13) if kind == 'bipartite' else (12, 12)
    edge_index = torch.tensor([[0, 3, 5, 11 % num_src], [1, 3, 2, 7]])
    valid = valid_pairs(edge_index, num_src, num_dst, kind)
    index = _index(edge_index, num_src, num_dst, kind) if use_index else None
    seen, g = set(), gen(7)
    for _ in range(300):
        out, _ = _call(
            edge_index,
            num_src,
            num_dst,
            kind,
            8 if kind == 'undirected' else 4,
            generator=g,
            index=index,
        )
        pairs = _forward_pairs(out, kind)
        assert len(pairs) == 4 and set(pairs) <= valid
        seen.update(pairs)
    assert seen == valid


@pytest.mark.parametrize('num,max_rounds', [(20, 4), (600, 4), (20, 0)])
def test_uniform_over_the_non_edges(monkeypatch, num, max_rounds):
    # (20, 4): rejection; (600, 4): exact draw by enumeration;
    # (20, 0): exact draw completed one pair at a time.
    monkeypatch.setattr(_exact, 'MAX_ROUNDS', max_rounds)
    edge_index = torch.randint(30, (2, 60), generator=gen(0))
    valid = sorted(valid_pairs(edge_index, 30, 30, 'directed'))
    slot = {p: i for i, p in enumerate(valid)}
    counts = torch.zeros(len(valid), dtype=torch.long)
    g = gen(1)
    for _ in range(8000 // num):
        out = negative_sampling(edge_index, 30, num, generator=g)
        for p in map(tuple, out.t().tolist()):
            counts[slot[p]] += 1
    assert int(counts.sum()) == 8000 // num * num
    assert chisquare(counts.numpy()).pvalue > 1e-3


# ------------------------------------------------- paths and defaults
def test_defaults_follow_pyg():
    # None: one per edge; a float: a ratio of the edges, truncated.
    assert negative_sampling(EDGE_INDEX).shape == (2, 4)
    assert negative_sampling(EDGE_INDEX, num_neg_samples=0.5).shape == (2, 2)
    assert negative_sampling(EDGE_INDEX, num_neg_samples=0.6).shape == (2, 2)
    assert negative_sampling(EDGE_INDEX, num_neg_samples=0).shape == (2, 0)
    # num_nodes=None: max id + 1 -> 4 nodes, so ids stay below 4.
    assert int(negative_sampling(EDGE_INDEX).max()) < 4


def test_keeps_dtype():
    out = negative_sampling(EDGE_INDEX.int(), 10, 5, generator=gen())
    assert out.dtype == torch.int32
    out = negative_sampling(
        EDGE_INDEX.to(torch.int16), 100, 5, generator=gen()
    )
    assert out.dtype == torch.int16
    assert not positive_set(out.long()) & positive_set(EDGE_INDEX)


def test_index_avoids_extra_positives():
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


def test_takes_num_nodes_from_index():
    index = PositiveIndex(EDGE_INDEX, 3, 5)  # bipartite, 3 x 5
    out = negative_sampling(
        EDGE_INDEX, num_neg_samples=11, index=index, generator=gen()
    )
    assert out.size(1) == 11
    assert int(out[0].max()) < 3 and int(out[1].max()) < 5


def test_empty_inputs():
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

    monkeypatch.setattr(_rejection, 'exact_keys', fail)
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
    monkeypatch.setattr(_exact, 'MAX_ROUNDS', 0)
    edge_index = torch.randint(200, (2, 400), generator=gen())
    out = negative_sampling(
        edge_index, 200, 60, force_undirected=undirected, generator=gen(1)
    )
    pairs = list(map(tuple, out.t().tolist()))
    assert len(pairs) == 60
    assert len(set(pairs)) == len(pairs)
    assert not set(pairs) & positive_set(edge_index, undirected)
    assert all(u != v for u, v in pairs)


def test_spaces_beyond_2_53_are_drawn_exactly(monkeypatch):
    # 2**30 x 2**31 pairs: the exact completion draws ranks above 2**53,
    # whose low bits must be random too (a float64 draw alone would leave
    # them zero, and the keys would all share a column residue).
    monkeypatch.setattr(_exact, 'MAX_ROUNDS', 0)
    edge_index = torch.tensor([[0, 5], [7, 2**31 - 1]])
    out = negative_sampling(edge_index, (2**30, 2**31), 200, generator=gen(2))
    pairs = set(map(tuple, out.t().tolist()))
    assert len(pairs) == 200 and not pairs & positive_set(edge_index)
    assert int((out[0] < 2**30).all()) and int((out[1] < 2**31).all())
    assert int((out[1] % 1024).unique().numel()) > 150


@pytest.mark.parametrize(
    'call',
    [
        lambda g: negative_sampling(EDGE_INDEX, 50, 30, generator=g),
        lambda g: negative_sampling(EDGE_INDEX, 5, 10, generator=g),
        lambda g: negative_sampling(
            EDGE_INDEX, 50, 30, force_undirected=True, generator=g
        ),
    ],
)
def test_generator_makes_draws_reproducible(call):
    assert torch.equal(call(gen(3)), call(gen(3)))
    assert not torch.equal(call(gen(3)), call(gen(4)))


def test_drop_ins_are_exported_at_the_top_level():
    import torch_geometric_negsamp as tgn
    from torch_geometric_negsamp import utils

    for name in utils.__all__:
        assert getattr(tgn, name) is getattr(utils, name)
        assert name in tgn.__all__
    # Moved to utils, with no alias left behind:
    assert not hasattr(tgn, 'functional') and 'functional' not in tgn.__all__
    assert not (Path(tgn.__file__).parent / 'functional.py').exists()
