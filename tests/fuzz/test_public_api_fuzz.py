r"""Fuzzing the public API with random, mostly invalid arguments.

Every call must either return a result that is verified exact (no negative
is a positive, the count asked for, ids in range) or raise a
:class:`ValueError` / :class:`TypeError` whose message names one of the
call's arguments (``'name'`` or ``'name[...]'``); anything else — another
exception, a wrong result, a call over its time limit — fails the test.
"""

import os
import re
import signal
import warnings
from contextlib import contextmanager

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torch_geometric_negsamp import (
    PopularitySampler,
    PositiveIndex,
    RegionSampler,
    UniformSampler,
    UnsatisfiableError,
    negative_sampling,
    structured_negative_sampling,
)
from torch_geometric_negsamp.kg import BernoulliCorruption, UniformCorruption
from torch_geometric_negsamp.losses import bpr_loss, hinge_loss
from torch_geometric_negsamp.metrics import ranking_metrics
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.select import MCNS

SECONDS = 20  # per call; a hang is a failure

EDGES = torch.tensor([[0, 0, 1, 2, 3, 3], [1, 2, 2, 0, 1, 3]])
META = torch.empty(2, 1, dtype=torch.long, device='meta')
JUNK = [
    None,
    'no',
    True,
    -1,
    0,
    2**70,
    1.5,
    float('nan'),
    float('inf'),
    [],
    [[0], [1]],
    torch.tensor([]),
    torch.tensor([[1.0], [0.0]]),
    torch.tensor([-3]),
    torch.tensor([[0], [-1]]),
    torch.tensor([[0], [9]]),
    torch.zeros(3, 2, dtype=torch.long),
    torch.tensor([True]),
    META,
    10**12,
]


def maybe(valid):
    r"""A valid value most of the time, else junk."""
    return st.one_of(valid, valid, st.sampled_from(JUNK))


@contextmanager
def time_limit(seconds: int):
    def fail(*_):
        raise TimeoutError(f'call ran past {seconds} s')

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def call(fn, names, verify=None):
    r"""Runs :obj:`fn`; a ValueError/TypeError must name one of
    :obj:`names`; a result must pass :obj:`verify`."""
    try:
        with time_limit(SECONDS), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            out = fn()
    except UnsatisfiableError as e:
        # Documented: names the source (or triple) that has no negative.
        assert 'has no valid' in str(e), str(e)
        return None
    except (ValueError, TypeError) as e:
        named = re.findall(r"'([A-Za-z_][A-Za-z_0-9]*)", str(e))
        assert any(n in names for n in named), (
            f'{type(e).__name__} names none of {names}: {e}'
        )
        return None
    if verify is not None:
        verify(out)
    return out


# NEGSAMP_FUZZ_EXAMPLES raises the count for a longer local run.
FUZZ = settings(
    max_examples=int(os.environ.get('NEGSAMP_FUZZ_EXAMPLES', '60')),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(
    edge_index=maybe(st.just(EDGES)),
    num_src=maybe(st.integers(4, 6)),
    num_dst=maybe(st.integers(4, 6)),
    extra=maybe(st.just(torch.tensor([[0], [3]]))),
    src=maybe(st.just(torch.tensor([0, 1, 2, 0]))),
    num_neg=maybe(st.integers(1, 5)),
    cls=st.sampled_from([UniformSampler, PopularitySampler, RegionSampler]),
    alpha=maybe(st.floats(0, 2)),
    share=maybe(st.floats(0, 1)),
    flag=maybe(st.booleans()),
)
def test_samplers(
    edge_index, num_src, num_dst, extra, src, num_neg, cls, alpha, share, flag
):
    kwargs = {
        PopularitySampler: {'alpha': alpha},
        RegionSampler: {'distant_share': share},
    }.get(cls, {})
    names = {
        'alpha',
        'distant_share',
        'edge_index',
        'num_nodes',
        'extra_positives',
        'src',
        'num_neg',
        'allow_self',
        'num_samples',
        'dst',
    }
    sampler = call(lambda: cls(seed=0, allow_self=flag, **kwargs), names)
    if sampler is None:
        return
    fitted = call(
        lambda: sampler.fit(
            edge_index, (num_src, num_dst), extra_positives=extra
        ),
        names,
    )
    if fitted is None:
        return
    index = fitted.index()

    def exact(neg):
        k = 1 if num_neg is None else num_neg  # default: ceil(amount)
        assert neg.dim() == 2 and neg.size(1) == k
        assert bool(((neg >= 0) & (neg < num_dst)).all())
        kept = src[: neg.size(0)]
        assert not bool(index.contains(kept.view(-1, 1), neg).any())

    call(lambda: fitted.sample_negatives(src, num_neg=num_neg), names, exact)

    def exact_pairs(pairs):
        s, d = pairs
        assert s.shape == d.shape and not bool(index.contains(s, d).any())

    call(lambda: fitted.sample_pairs(num_neg), names, exact_pairs)
    call(lambda: fitted.log_prob(src, src), names)


@FUZZ
@given(
    edge_index=maybe(st.just(EDGES)),
    num_nodes=maybe(st.integers(4, 7)),
    num_neg=maybe(st.integers(0, 30)),
    method=maybe(st.sampled_from(['sparse', 'dense'])),
    undirected=maybe(st.booleans()),
)
def test_negative_sampling(edge_index, num_nodes, num_neg, method, undirected):
    names = {
        'edge_index',
        'num_nodes',
        'num_neg_samples',
        'method',
        'force_undirected',
        'contains_neg_self_loops',
    }

    def exact(out):
        assert out.dim() == 2 and out.size(0) == 2
        pairs = set(map(tuple, out.t().tolist()))
        assert len(pairs) == out.size(1) or undirected  # distinct
        edges = set(map(tuple, edge_index.t().tolist()))
        if undirected:
            edges |= {(b, a) for a, b in edges}
        assert not pairs & edges and all(a != b for a, b in pairs)
        asked = edge_index.size(1) if num_neg is None else num_neg
        if isinstance(num_neg, float):  # PyG: a ratio of the edge count
            asked = int(num_neg * edge_index.size(1))
        assert out.size(1) <= asked * (2 if undirected else 1)

    call(
        lambda: negative_sampling(
            edge_index,
            num_nodes,
            num_neg,
            method,
            undirected,
            generator=torch.Generator().manual_seed(0),
        ),
        names,
        exact,
    )

    def exact_structured(out):
        i, j, k = out
        n = num_nodes
        if n is None:  # inferred: the largest id plus one
            n = int(edge_index.max()) + 1
        index = PositiveIndex(edge_index, n, exclude_self=True)
        assert not bool(
            index.contains(i.view(-1, 1), k.view(i.numel(), -1)).any()
        )

    call(
        lambda: structured_negative_sampling(
            edge_index,
            num_nodes,
            False,
            generator=torch.Generator().manual_seed(0),
        ),
        names,
        exact_structured,
    )


@FUZZ
@given(
    edge_index=maybe(st.just(EDGES)),
    num_users=maybe(st.integers(4, 5)),
    num_items=maybe(st.integers(4, 6)),
    k=maybe(st.sampled_from([1, 3, 5])),
    adjacent=maybe(st.sampled_from([1, 3])),
    users=maybe(st.just(torch.tensor([0, 1, 2, 3]))),
)
def test_regions(edge_index, num_users, num_items, k, adjacent, users):
    names = {
        'edge_index',
        'num_nodes',
        'k',
        'adjacent_hops',
        'users',
        'items',
    }
    region = call(
        lambda: KHopRegion(edge_index, (num_users, num_items), k, adjacent),
        names,
    )
    if region is None:
        return

    def intermediate(items):
        assert bool(region.contains(users, items).all())

    def distant(items):
        assert bool((region.region_of(users, items) == 0).all())

    call(lambda: region.sample_intermediate(users), names, intermediate)
    call(lambda: region.sample_distant(users), names, distant)


@FUZZ
@given(
    triples=maybe(st.just(torch.tensor([[0, 1, 2], [0, 1, 0], [1, 2, 3]]))),
    num_entities=maybe(st.integers(4, 6)),
    num_relations=maybe(st.integers(2, 3)),
    num_neg=maybe(st.integers(1, 4)),
    cls=st.sampled_from([UniformCorruption, BernoulliCorruption]),
)
def test_triple_corruption(triples, num_entities, num_relations, num_neg, cls):
    names = {
        'triples',
        'relation',
        'num_entities',
        'num_relations',
        'num_neg',
        'extra_positives',
    }
    corruption = call(lambda: cls(num_neg=num_neg, seed=0), names)
    if corruption is None:
        return
    fitted = call(
        lambda: corruption.fit(
            triples, num_entities=num_entities, num_relations=num_relations
        ),
        names,
    )
    if fitted is None:
        return
    known = set(map(tuple, triples.t().tolist()))

    def exact(out):
        got = torch.stack([out.head, out.relation, out.tail], -1)
        assert not {tuple(t) for t in got.view(-1, 3).tolist()} & known

    call(lambda: fitted.sample(triples), names, exact)


@FUZZ
@given(
    pos=maybe(st.just(torch.tensor([0.5, -1.0]))),
    neg=maybe(st.just(torch.tensor([[0.1, 0.2], [3.0, -2.0]]))),
    margin=maybe(st.floats(0, 2)),
    scores=maybe(st.just(torch.tensor([[0.3, 0.1, 0.9], [0.2, 0.8, 0.5]]))),
    k=maybe(st.integers(1, 3)),
)
def test_losses_and_metrics(pos, neg, margin, scores, k):
    names = {
        'pos',
        'neg',
        'margin',
        'reduction',
        'scores',
        'train_index',
        'test_index',
        'k',
    }

    def finite(value):
        assert bool(torch.isfinite(value).all())

    call(lambda: bpr_loss(pos, neg), names, finite)
    call(lambda: hinge_loss(pos, neg, margin), names, finite)
    train = torch.tensor([[0], [0]])
    test = torch.tensor([[0, 1], [2, 1]])

    def in_unit(out):
        for key in ('recall', 'ndcg'):
            value = out[key] if not isinstance(out[key], dict) else None
            if value is not None:
                assert 0.0 <= float(value) <= 1.0

    call(lambda: ranking_metrics(scores, train, test, k), names, in_unit)


@FUZZ
@given(
    proposal=maybe(st.sampled_from(['region', 'state'])),
    f=maybe(st.sampled_from(['power', 'code'])),
    alpha=maybe(st.floats(0, 2)),
    share=maybe(st.floats(0, 1)),
    burn_in=maybe(st.integers(0, 5)),
    steps=maybe(st.integers(1, 3)),
    users=maybe(st.just(torch.tensor([0, 1, 2, 0]))),
    user_emb=maybe(st.just(torch.randn(4, 2))),
    item_emb=maybe(st.just(torch.randn(4, 2) * 50)),
    k=maybe(st.integers(1, 4)),
)
def test_mcns(
    proposal, f, alpha, share, burn_in, steps, users, user_emb, item_emb, k
):
    names = {
        'index',
        'region',
        'proposal',
        'edge_index',
        'f',
        'alpha',
        'global_share',
        'burn_in',
        'steps_per_draw',
        'users',
        'user_emb',
        'item_emb',
        'k',
    }
    index = PositiveIndex(
        EDGES, 4, 4, extra_positives=torch.tensor([[1], [3]])
    )
    region = KHopRegion(EDGES, (4, 4), 3) if proposal == 'region' else None
    edges = EDGES if proposal == 'state' else None
    mcns = call(
        lambda: MCNS(
            index,
            region,
            proposal=proposal,
            edge_index=edges,
            f=f,
            alpha=alpha,
            global_share=share,
            burn_in=burn_in,
            steps_per_draw=steps,
            seed=0,
        ),
        names,
    )
    if mcns is None:
        return

    def exact(neg):
        assert neg.shape == (users.numel(), k)
        assert bool(((neg >= 0) & (neg < 4)).all())
        assert not bool(index.contains(users.view(-1, 1), neg).any())

    for _ in range(2):
        call(lambda: mcns(users, user_emb, item_emb, k), names, exact)


def test_the_time_limit_catches_a_hang():
    with pytest.raises(TimeoutError):
        with time_limit(1):
            while True:
                pass
