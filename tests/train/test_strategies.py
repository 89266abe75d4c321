import inspect
import io

import pytest
import torch

from torch_geometric_negsamp import UniformSampler
from torch_geometric_negsamp.select import SoftmaxSelector
from torch_geometric_negsamp.train import (
    Context,
    Strategy,
    build_strategy,
    strategy_names,
)
from torch_geometric_negsamp.train.strategies import (
    STRATEGIES,
    STRATEGY_OPTIONS,
    CacheStrategy,
    InBatchStrategy,
    StaticStrategy,
)

U, I, D = 6, 12, 4
MODEL_AWARE = [
    'ahns',
    'cache',
    'dens',
    'dns',
    'inbatch',
    'mixgcf',
    'queue',
    'softmax',
    'srns',
]
# The strategies on k-hop regions (tested in test_region_strategies.py):
ON_REGIONS = ['mcns', 'recns']


def _train():
    # user u holds items u and u + 6 (so every user misses ten items)
    users = torch.arange(U).repeat(2)
    items = torch.cat([torch.arange(U), torch.arange(U) + U])
    return torch.stack([users, items])


def _ctx(seed=0, layers=3):
    gen = torch.Generator().manual_seed(seed)
    per_layer = [torch.randn(U + I, D, generator=gen) for _ in range(layers)]
    final = torch.stack(per_layer).mean(0)
    return Context(final[:U], final[U:], per_layer)


def _build(name, **kwargs):
    kwargs.setdefault('num_neg', 2)
    kwargs.setdefault('candidates', 5)
    kwargs.setdefault('cache_size', 3)
    kwargs.setdefault('queue_size', 4)
    kwargs.setdefault('mixed_negatives', 2)
    kwargs.setdefault('embedding_dim', D)  # DENS's gates
    # Building may draw from the global generator (the cache's first
    # fill), as the trainer does after seeding it:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return build_strategy(name, _train(), U, I, **kwargs)


def _run(strategy, steps=2, seed=0):
    users, pos = _train()
    return [
        strategy.negatives(users, pos, _ctx(seed + s)) for s in range(steps)
    ]


def _same(a, b):
    return all(
        (x is None and y is None) or torch.equal(x, y) for x, y in zip(a, b)
    )


def test_build_strategy_signature_is_the_agreed_one():
    # build_strategy forwards its keywords to Strategy, whose signature
    # holds the agreed settings, each size with its own default:
    params = inspect.signature(build_strategy).parameters
    assert list(params) == [
        'name',
        'train_index',
        'num_users',
        'num_items',
        'kwargs',
    ]
    params = inspect.signature(Strategy).parameters
    keywords = [
        name
        for name, param in params.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert sorted(keywords) == sorted(
        [*STRATEGY_OPTIONS, 'combine', 'base', 'sampler_options']
    )
    sizes = ['candidates', 'cache_size', 'queue_size', 'mixed_negatives']
    assert set(sizes) <= set(STRATEGY_OPTIONS)
    assert all(params[name].default == 32 for name in sizes)


def test_names_are_normalised_by_the_registry():
    assert STRATEGIES.names() == sorted([*MODEL_AWARE, *ON_REGIONS])
    assert set(MODEL_AWARE) <= set(strategy_names())
    assert {'uniform', 'popularity'} <= set(strategy_names())
    assert 'bernoulli' not in strategy_names()
    for name in ('In-Batch', 'in_batch', 'INBATCH'):
        assert type(_build(name)) is InBatchStrategy
    for name in ('uniform', 'Uniform', 'UniformSampler'):
        assert type(_build(name)) is StaticStrategy
    with pytest.raises(ValueError, match="'name' names no known strategy"):
        _build('bernoulli')
    with pytest.raises(ValueError, match="'name' names no known .*dns"):
        _build('hardest')
    with pytest.raises(TypeError, match="'name' must be a strategy name"):
        _build(3)


def test_each_size_is_used_by_its_strategy_only():
    users, pos = _train()
    B = users.numel()
    cache = _build('cache', candidates=0, queue_size=0, mixed_negatives=0)
    assert cache.cache.cache.shape == (U, 3) and cache.cache.num_fresh == 3
    queue = _build('queue', candidates=0, cache_size=0)
    for _ in range(3):
        neg = queue.negatives(users, pos, _ctx())
    assert neg.neg_scores.shape == (B, 4)  # the queue holds 4 items
    for mixed in (0, 2):
        inbatch = _build('inbatch', candidates=0, mixed_negatives=mixed)
        neg = inbatch.negatives(users, pos, _ctx())
        assert neg.neg_scores.shape == (B, B + mixed)
    for name in ('dns', 'softmax', 'mixgcf'):
        neg = _build(name, cache_size=0, queue_size=0).negatives(
            users, pos, _ctx()
        )
        assert neg.emb.shape == (B, 2, D)


@pytest.mark.parametrize(
    'name, kwargs, match',
    [
        ('dns', dict(num_neg=2, candidates=1), "'candidates' must be at"),
        ('softmax', dict(num_neg=3, candidates=2), r"least 3 \('num_neg'"),
        ('mixgcf', dict(candidates=0), "'candidates' must be at least 1"),
        ('cache', dict(cache_size=0), "'cache_size' must be at least 1"),
        ('queue', dict(queue_size=0), "'queue_size' must be at least 1"),
        ('inbatch', dict(mixed_negatives=-1), "'mixed_negatives' must be"),
        ('uniform', dict(candidates=-1), "'candidates' must be non-neg"),
        ('uniform', dict(num_neg=0), "'num_neg' must be a positive"),
        ('softmax', dict(temperature=0.0), "'temperature' must be positive"),
        ('uniform', dict(num_users=0), "'num_users' must be a positive"),
    ],
)
def test_bad_arguments_name_the_argument(name, kwargs, match):
    num_users = kwargs.pop('num_users', U)
    with pytest.raises(ValueError, match=match):
        build_strategy(name, _train(), num_users, I, **kwargs)


def test_bad_argument_types():
    with pytest.raises(TypeError, match="'combine' must be callable"):
        _build('mixgcf', combine='mean')
    with pytest.raises(TypeError, match="'queue_size' must be an int"):
        _build('queue', queue_size=4.0)


def test_uniform_draws_exactly_the_sampler_stream():
    # The default strategy adds no draw of its own: its negatives are the
    # filtered uniform sampler's, seed for seed.
    users, pos = _train()
    strategy = _build('uniform')
    strategy.reseed(7)
    sampler = UniformSampler().fit(_train(), (U, I)).reseed(7)
    for ctx in (_ctx(0), _ctx(1)):
        neg = strategy.negatives(users, pos, ctx)
        assert torch.equal(neg.ids, sampler.sample_trusted(users, 2))
        assert torch.equal(neg.emb, ctx.item_emb[neg.ids])


def test_softmax_strategy_seeds_its_selector_with_seed_plus_one():
    users, pos = _train()
    strategy = _build('softmax', temperature=0.5)
    strategy.reseed(3)
    ctx = _ctx()
    neg = strategy.negatives(users, pos, ctx)
    sampler = UniformSampler().fit(_train(), (U, I)).reseed(3)
    cand = sampler.sample_trusted(users, 5)
    scores = (ctx.user_emb[users, None] * ctx.item_emb[cand]).sum(-1)
    index, _ = SoftmaxSelector(2, 0.5, seed=4)(scores)
    assert torch.equal(neg.ids, cand.gather(1, index))


@pytest.mark.parametrize('name', ['uniform'] + MODEL_AWARE)
def test_reseed_makes_the_strategy_deterministic(name):
    a, b = _build(name), _build(name)
    a.reseed(1)
    b.reseed(1)
    for x, y in zip(_run(a), _run(b)):
        assert _same(x, y)


@pytest.mark.parametrize(
    'name', ['uniform', 'popularity', 'dns', 'softmax', 'cache']
)
def test_negatives_are_never_positives(name):
    positives = set(map(tuple, _train().t().tolist()))
    users = _train()[0]
    strategy = _build(name, num_neg=3)
    strategy.reseed(0)
    for neg in _run(strategy, steps=3):
        assert neg.ids.shape == (users.numel(), 3)
        for u, row in zip(users.tolist(), neg.ids.tolist()):
            assert all((u, v) not in positives for v in row), name


def test_dns_picks_the_highest_scored_candidate():
    strategy = _build('dns', num_neg=1, candidates=40)
    strategy.reseed(0)
    item_emb = torch.arange(I, dtype=torch.float).view(-1, 1)
    ctx = Context(torch.ones(U, 1), item_emb, None)
    users, pos = _train()
    neg = strategy.negatives(users, pos, ctx)
    # Every user's hardest allowed item is the largest id it has not
    # interacted with (40 candidates nearly cover its ten negatives).
    positives = set(map(tuple, _train().t().tolist()))
    best = [
        max(v for v in range(I) if (u, v) not in positives)
        for u in users.tolist()
    ]
    hits = (neg.ids.view(-1) == torch.tensor(best)).float().mean()
    assert hits > 0.5


@pytest.mark.parametrize('name', ['uniform'] + MODEL_AWARE)
def test_state_dict_round_trip(name):
    source = _build(name)
    source.reseed(2)
    _run(source)
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    buffer.seek(0)
    target = _build(name)
    target.load_state_dict(torch.load(buffer, weights_only=True))
    source.reseed(5)
    target.reseed(5)
    for x, y in zip(_run(source, seed=3), _run(target, seed=3)):
        assert _same(x, y)
    assert target.to('cpu') is target


def test_in_batch_state_carries_the_mixed_items_stream():
    source = _build('inbatch')
    source.reseed(2)
    _run(source)
    target = _build('inbatch')
    target.load_state_dict(source.state_dict())
    # No reseed: the loaded generator state alone makes the streams equal.
    for x, y in zip(_run(source), _run(target)):
        assert _same(x, y)


def test_bad_state_is_refused():
    cache = _build('cache')
    with pytest.raises(ValueError, match="'state' must hold the entries"):
        cache.load_state_dict({})
    with pytest.raises(ValueError, match="'state' must hold the entries"):
        _build('dns').load_state_dict({'cache': {}})
    with pytest.raises(ValueError, match="'state' must hold the generator"):
        _build('inbatch').load_state_dict({})
    with pytest.raises(ValueError, match="'state' entry 'mixed' is no"):
        _build('inbatch').load_state_dict(
            {'selector': {}, 'mixed': torch.zeros(2, dtype=torch.uint8)}
        )
    state = cache.state_dict()
    state['cache']['cache'] = torch.full((U, 3), 0)  # user 0 holds item 0
    before = cache.cache.cache.clone()
    with pytest.raises(ValueError, match='holds known positives'):
        cache.load_state_dict(state)
    assert torch.equal(cache.cache.cache, before)


def test_strategies_are_registered_subclasses():
    assert all(issubclass(cls, Strategy) for _, cls in STRATEGIES.items())
    assert STRATEGIES.get('cache') is CacheStrategy
    with pytest.raises(TypeError, match='must be a Strategy subclass'):
        STRATEGIES.register('other', int)


def test_the_base_sampler_name_is_compared_as_the_registry_compares_it():
    strategy = Strategy(_train(), U, I, base='Popularity', alpha=0.25)
    assert strategy.sampler.alpha == 0.25
