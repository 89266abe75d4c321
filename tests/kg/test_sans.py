import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from torch_geometric_negsamp.kg import (
    CORRUPTIONS,
    SANSCorruption,
    resolve_corruption,
)
from torch_geometric_negsamp.sampler import UnsatisfiableError

from .sans_reference import (
    bfs_neighborhoods,
    knowledge_graphs,
    neighborhood_sets,
    one,
    star_of_stars,
    triples_tensor,
)

CUDA = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device'
)
WALK = dict(method='walk', num_walks=8)
VARIANTS = [dict(), dict(include_self=True), WALK, dict(WALK, weighted=True)]


# -------------------------------------------------------- exactness
@settings(max_examples=80, deadline=None)
@given(
    graph=knowledge_graphs(),
    kind=st.sampled_from(['both', 'head', 'tail', 'bernoulli']),
    k=st.integers(1, 3),
    num_neg=st.integers(1, 4),
    variant=st.sampled_from(VARIANTS),
    seed=st.integers(0, 2**31),
)
def test_no_corruption_is_known_and_each_comes_from_its_neighborhood(
    graph, kind, k, num_neg, variant, seed
):
    n, num_rel, train, extra, batch = graph
    corruption = SANSCorruption(
        num_neg, k=k, corrupt=kind, seed=seed, **variant
    )
    corruption.fit(
        triples_tensor(train),
        num_entities=n,
        num_relations=num_rel,
        extra_positives=triples_tensor(extra) if extra else None,
    )
    known = set(train) | set(extra)
    members = neighborhood_sets(corruption, n)
    sides = ('head', 'tail') if kind in ('both', 'bernoulli') else (kind,)

    def valid(h, r, t, side):
        # (neighbourhood candidates, every filtered candidate)
        if side not in sides:
            return set(), set()
        if side == 'head':
            every = {e for e in range(n) if (e, r, t) not in known}
            return members[t] & every, every
        every = {e for e in range(n) if (h, r, e) not in known}
        return members[h] & every, every

    def allowed(h, r, t, side):
        near, every = valid(h, r, t, side)
        return near or every  # the uniform fallback

    stuck = [
        tri
        for tri in batch
        if not allowed(*tri, 'head') and not allowed(*tri, 'tail')
    ]
    if stuck:
        with pytest.raises(UnsatisfiableError, match='no valid corruption'):
            corruption.sample(triples_tensor(batch))
        return
    neg = corruption.sample(triples_tensor(batch))
    fallbacks = 0
    for i, (h, r, t) in enumerate(batch):
        for j in range(num_neg):
            triple = (
                int(neg.head[i, j]),
                int(neg.relation[i, j]),
                int(neg.tail[i, j]),
            )
            assert triple not in known
            side = 'head' if bool(neg.head_replaced[i, j]) else 'tail'
            new = triple[0] if side == 'head' else triple[2]
            assert new in allowed(h, r, t, side)
            if side == 'head':
                assert triple[1:] == (r, t)
            else:
                assert triple[:2] == (h, r)
            fallbacks += not valid(h, r, t, side)[0]
    assert corruption.num_fallback == fallbacks


# ------------------------------------------------------ distributions
@pytest.mark.parametrize(
    'options',
    [
        dict(),
        dict(include_self=True),
        dict(filtered=False),
        dict(method='walk', num_walks=64),
    ],
)
def test_tail_draws_are_uniform_over_the_filtered_neighborhood(options):
    # Tails of (0, 0, 1) within two hops of 0, minus the known tails
    # 1..8 of (0, 0, .) (and minus 0 itself unless include_self).
    corruption = SANSCorruption(4000, k=2, corrupt='tail', seed=0, **options)
    corruption.fit(star_of_stars(), num_entities=41)
    near = neighborhood_sets(corruption, 41)[0]
    expect = near - (
        set() if options.get('filtered') is False else set(range(1, 9))
    )
    if options.get('include_self'):
        assert 0 in expect
    neg = corruption.sample(one(0, 0, 1))
    tails = neg.tail.view(-1)
    assert set(tails.tolist()) <= expect
    counts = torch.bincount(tails, minlength=41)[sorted(expect)]
    assert counts.min() > 0
    assert chisquare(counts.numpy()).pvalue > 1e-4
    assert corruption.num_fallback == 0


def test_head_draws_skip_known_heads_in_the_neighborhood():
    # Heads of (1, 1, 9) within two hops of the tail 9: {0, 1, 10, 11,
    # 12}, minus the known head 1 of (., 1, 9).
    corruption = SANSCorruption(3000, corrupt='head', seed=1)
    corruption.fit(star_of_stars(), num_entities=41)
    heads = corruption.sample(one(1, 1, 9)).head.view(-1)
    assert set(heads.tolist()) == {0, 10, 11, 12}
    counts = torch.bincount(heads, minlength=41)[[0, 10, 11, 12]]
    assert chisquare(counts.numpy()).pvalue > 1e-4


# ---------------------------------------------------------- fallback
def _saturated():
    # Two hops of 0 hold 1 and 2 only, and (0, 0, 1), (0, 0, 2) are known:
    # tail corruption of (0, 0, .) has an empty filtered neighbourhood.
    # Entity 4 appears in an extra triple only: no edge, no neighbourhood.
    return triples_tensor([(0, 0, 1), (0, 0, 2), (1, 1, 2)])


def test_an_empty_neighborhood_falls_back_to_uniform_and_is_counted():
    corruption = SANSCorruption(2000, k=2, corrupt='tail', seed=0).fit(
        _saturated(),
        num_entities=6,
        num_relations=2,
        extra_positives=triples_tensor([(4, 1, 5)]),
    )
    tails = corruption.sample(one(0, 0, 1)).tail.view(-1)
    # Uniform among the tails of (0, 0, .) that form no known triple.
    assert set(tails.tolist()) == {0, 3, 4, 5}
    counts = torch.bincount(tails, minlength=6)[[0, 3, 4, 5]]
    assert chisquare(counts.numpy()).pvalue > 1e-4
    assert corruption.num_fallback == 2000
    tails = corruption.sample(one(4, 1, 5)).tail.view(-1)
    assert set(tails.tolist()) == {0, 1, 2, 3, 4}
    assert corruption.num_fallback == 4000
    # A neighbourhood draw counts nothing; fit starts the count again.
    corruption.sample(one(1, 1, 2))
    assert corruption.num_fallback == 4000
    corruption.fit(_saturated(), num_entities=6)
    assert corruption.num_fallback == 0
    # Batches mix both: only the fallback lanes are counted.
    neg = corruption.sample(triples_tensor([(0, 0, 1), (1, 1, 2)]), num_neg=10)
    assert corruption.num_fallback == 10
    assert set(neg.tail[1].tolist()) == {0}  # two hops of 1, 2 known


def test_on_empty_raise_names_the_entity_before_any_draw():
    corruption = SANSCorruption(corrupt='tail', on_empty='raise', seed=0)
    corruption.fit(_saturated(), num_entities=6)
    state = corruption.get_generator().get_state()
    with pytest.raises(
        UnsatisfiableError,
        match=r'neighbourhood of entity 0 \(the kept head, relation 0\)',
    ) as info:
        corruption.sample(triples_tensor([(1, 1, 2), (0, 0, 1), (0, 0, 2)]))
    assert "on_empty='raise' (2 such triple(s)" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert torch.equal(corruption.get_generator().get_state(), state)
    assert corruption.num_fallback == 0
    # Head corruption of (0, 0, 1) has candidates: the kept tail 1 reaches
    # 0 and 2, head 2 forms no known triple with (., 0, 1).
    heads = SANSCorruption(50, corrupt='head', on_empty='raise', seed=0)
    heads.fit(_saturated(), num_entities=6)
    assert set(heads.sample(one(0, 0, 1)).head.view(-1).tolist()) == {2}
    # The tail 5 of an extra triple has no edge, hence no neighbourhood.
    heads.fit(
        _saturated(),
        num_entities=6,
        extra_positives=triples_tensor([(4, 1, 5)]),
    )
    with pytest.raises(UnsatisfiableError, match='entity 5 .the kept tail'):
        heads.sample(one(4, 1, 5))


def test_the_other_side_serves_when_neither_fallback_can():
    # Every tail of (0, 0, .) is known on two entities: the head is
    # replaced instead. The neighbourhood of the tail 1 is {0} (0 known),
    # so the head 1 comes from the fallback; with include_self=True it is
    # in the neighbourhood.
    full = triples_tensor([(0, 0, 0), (0, 0, 1), (1, 1, 0)])
    for include_self, fallbacks in ((False, 50), (True, 0)):
        corruption = SANSCorruption(50, include_self=include_self, seed=0)
        corruption.fit(full, num_entities=2)
        neg = corruption.sample(one(0, 0, 1))
        assert neg.head_replaced.all() and (neg.head == 1).all()
        assert corruption.num_fallback == fallbacks


# ------------------------------------------------------- determinism
def test_same_seed_same_neighborhoods_and_draws():
    gen = torch.Generator().manual_seed(3)
    triples = torch.stack(
        [
            torch.randint(0, 40, (80,), generator=gen),
            torch.randint(0, 3, (80,), generator=gen),
            torch.randint(0, 40, (80,), generator=gen),
        ]
    )
    for options in (dict(), WALK, dict(WALK, weighted=True)):

        def draw(options=options, **seeding):
            c = SANSCorruption(5, corrupt='bernoulli', **options, **seeding)
            c.fit(triples, num_entities=40)
            return (
                neighborhood_sets(c, 40),
                c.sample(triples),
                c.sample(triples),
            )

        members, first, second = draw(seed=7)
        again = draw(seed=7)
        assert members == again[0]
        for x, y in zip(first + second, again[1] + again[2]):
            assert torch.equal(x, y)
        assert not torch.equal(first.head, second.head)  # stream advances
        other = draw(seed=8)
        assert not torch.equal(first.tail, other[1].tail)
        # A generator seeds the walks through its seed.
        by_gen = draw(generator=torch.Generator().manual_seed(7))
        assert by_gen[0] == draw(generator=torch.Generator().manual_seed(7))[0]
    walk = SANSCorruption(k=2, method='walk', num_walks=2, seed=1)
    other = SANSCorruption(k=2, method='walk', num_walks=2, seed=2)
    walk.fit(triples, num_entities=40)
    other.fit(triples, num_entities=40)
    assert neighborhood_sets(walk, 40) != neighborhood_sets(other, 40)


def test_pickled_copy_draws_the_same():
    corruption = SANSCorruption(4, seed=0).fit(star_of_stars())
    copy = pickle.loads(pickle.dumps(corruption))
    batch = star_of_stars()
    for x, y in zip(corruption.sample(batch), copy.sample(batch)):
        assert torch.equal(x, y)


# ------------------------------------------------------ registry, misc
def test_registered_as_sans():
    assert CORRUPTIONS.get('sans') is SANSCorruption
    c = resolve_corruption('SANS', 3, k=3, seed=0)
    assert isinstance(c, SANSCorruption) and (c.num_neg, c.k) == (3, 3)


def test_defaults_and_repr():
    c = SANSCorruption()
    assert (c.k, c.corrupt, c.method, c.num_walks) == (
        2,
        'both',
        'exact',
        1000,
    )
    assert not c.include_self and not c.weighted and c.on_empty == 'uniform'
    assert repr(c) == (
        "SANSCorruption(num_neg=1, k=2, corrupt='both', method='exact', "
        "include_self=False, on_empty='uniform', filtered=True, seed=None)"
    )
    w = SANSCorruption(2, method='walk', num_walks=5, weighted=True, seed=1)
    assert 'num_walks=5, weighted=True' in repr(w)
    assert SANSCorruption(corrupt='head').sides == ('head',)
    assert SANSCorruption(corrupt='bernoulli').sides == ('head', 'tail')


def test_bernoulli_side_choice():
    # Relation 0 is one-to-many (0 -> 1..8): P(head) = 8 / 9.
    corruption = SANSCorruption(3000, corrupt='bernoulli', seed=0)
    corruption.fit(star_of_stars(), num_entities=41)
    assert corruption.head_prob[0].item() == pytest.approx(8 / 9)
    replaced = corruption.sample(one(0, 0, 1)).head_replaced
    assert abs(replaced.double().mean().item() - 8 / 9) < 0.02


def test_to_share_memory_and_nbytes():
    for options in (dict(), dict(WALK, weighted=True)):
        c = SANSCorruption(3, seed=0, corrupt='bernoulli', **options)
        c.fit(star_of_stars(), num_entities=41)
        assert c.nbytes > 0
        before = c.sample(star_of_stars())
        c.reseed(0).to('cpu').share_memory_()
        after = c.sample(star_of_stars())
        for x, y in zip(before, after):
            assert torch.equal(x, y)
    assert c.region is None  # weighted: the visit counts hold the rows
    assert SANSCorruption().fit(star_of_stars()).region.k == 2


@CUDA
def test_cuda_equals_cpu():
    exact = bfs_neighborhoods(
        star_of_stars().t().tolist(), 41, 2, include_self=False
    )
    for options in (
        dict(),
        dict(include_self=True),
        dict(WALK, weighted=True),
    ):
        c = SANSCorruption(6, seed=0, **options).fit(star_of_stars())
        cpu = c.sample(star_of_stars())
        members = neighborhood_sets(c, 41)
        c.reseed(0).to('cuda')
        neg = c.sample(tuple(x.cuda() for x in star_of_stars()))
        for x, y in zip(cpu, neg):
            assert torch.equal(x, y.cpu())
        assert c.in_neighborhood(
            torch.tensor([0], device='cuda'), torch.tensor([9], device='cuda')
        ).item() == (9 in members[0])
        # Built on the device: the same exact sets (walks draw from a CUDA
        # stream there, so they only stay within the exact sets).
        fresh = SANSCorruption(6, seed=0, **options)
        fresh.fit(tuple(x.cuda() for x in star_of_stars()))
        e = torch.arange(41, device='cuda').view(-1, 1)
        inside = fresh.in_neighborhood(e, e.t()).cpu()
        on_device = [set(r.nonzero().view(-1).tolist()) for r in inside]
        if 'method' in options:
            assert all(a <= b for a, b in zip(on_device, exact))
        else:
            assert on_device == members
        neg = fresh.sample(tuple(x.cuda() for x in star_of_stars()))
        assert neg.head.is_cuda


# ------------------------------------------------------------ raises
def test_constructor_errors():
    cases = [
        (dict(k=0), ValueError, "'k' must be a positive integer"),
        (dict(k=2.0), TypeError, "'k' must be an int"),
        (dict(corrupt='relation'), ValueError, "'corrupt' must be one of"),
        (dict(method='bfs'), ValueError, "'method' must be one of"),
        (dict(num_walks=0), ValueError, "'num_walks' must be a positive"),
        (dict(weighted=1), TypeError, "'weighted' must be a bool"),
        (dict(weighted=True), ValueError, "'weighted' must be False with"),
        (dict(include_self='no'), TypeError, "'include_self' must be a b"),
        (dict(on_empty='drop'), ValueError, "'on_empty' must be one of"),
        (dict(memory_budget=0), ValueError, "'memory_budget' must be a p"),
        (dict(num_neg=0), ValueError, "'num_neg' must be a positive"),
        (dict(seed=0, generator=torch.Generator()), ValueError, 'at most'),
    ]
    for kwargs, error, match in cases:
        with pytest.raises(error, match=match):
            SANSCorruption(**kwargs)


def test_fit_and_query_errors():
    for options in (dict(method='walk'), dict(method='walk', weighted=True)):
        c = SANSCorruption(memory_budget=1000, **options)
        with pytest.raises(ValueError, match="'memory_budget' must be at"):
            c.fit(star_of_stars())
    c = SANSCorruption()
    with pytest.raises(RuntimeError, match="call 'fit"):
        c.neighborhood_sizes()
    with pytest.raises(RuntimeError, match="call 'fit"):
        c.in_neighborhood(torch.tensor([0]), torch.tensor([1]))
    with pytest.raises(RuntimeError, match="call 'fit"):
        _ = c.nbytes
    c.fit(star_of_stars())
    with pytest.raises(ValueError, match="'entities' holds entity id 41"):
        c.neighborhood_sizes(torch.tensor([41]))
    with pytest.raises(ValueError, match="'others' holds entity id -1"):
        c.in_neighborhood(torch.tensor([0]), torch.tensor([-1]))
    with pytest.raises(TypeError, match="'entities' must hold integer"):
        c.in_neighborhood(torch.tensor([0.0]), torch.tensor([1]))
    with pytest.raises(ValueError, match='known triples'):
        c.sample(one(0, 0, 40))
