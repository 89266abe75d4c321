import pytest
import torch
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp import UniformSampler
from torch_geometric_negsamp.select import NegativeCache


def _train():
    # users 0..2, items 0..4
    return torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, 2, 4]])


def _positives():
    return set(map(tuple, _train().t().tolist()))


def test_cache_keeps_size_never_holds_positives_and_gets_harder():
    sampler = UniformSampler(seed=0).fit(_train(), (3, 5))
    cache = NegativeCache(sampler, 3, cache_size=2, num_fresh=3, seed=0)
    positives = _positives()
    target = torch.tensor([3.0, 0.0, 1.0, 4.0, 2.0])  # item 3 is hardest

    def score_fn(src, items):
        return target[items] * 10

    for _ in range(10):
        cache.update(torch.tensor([0, 1, 2, 0]), score_fn)
        assert cache.cache.shape == (3, 2)
        for u, row in enumerate(cache.cache.tolist()):
            assert all((u, v) not in positives for v in row)
            assert (
                len(set(row)) == len(row)
                or len({v for v in range(5) if (u, v) not in positives}) < 2
            )
    # With a sharp softmax the hardest allowed items fill the caches:
    assert set(cache.cache[0].tolist()) == {3, 4}
    assert set(cache.cache[1].tolist()) == {3, 0}
    assert set(cache.cache[2].tolist()) == {3, 0}  # user 2 holds 2 and 4
    neg = cache.sample(torch.tensor([0, 1]), 4)
    assert neg.shape == (2, 4)
    assert set(neg[0].tolist()) <= {3, 4}


def test_sample_refuses_sources_out_of_range():
    # src = -1 used to return the last source's row.
    sampler = UniformSampler(seed=0).fit(_train(), (3, 5))
    cache = NegativeCache(sampler, 3, cache_size=2, num_fresh=2, seed=0)
    for bad in (-1, 3):
        with pytest.raises(ValueError, match=f"'src' holds source id {bad}"):
            cache.sample(torch.tensor([0, bad]))
        with pytest.raises(ValueError, match=f"'src' holds source id {bad}"):
            cache.update(torch.tensor([bad]), lambda s, i: i.float())


def test_num_sources_beyond_the_sampler_names_num_sources():
    # It used to blame 'src'.
    sampler = UniformSampler().fit(_train(), (3, 5))
    with pytest.raises(ValueError, match="'num_sources' must be at most .*3"):
        NegativeCache(sampler, 4)
    assert NegativeCache(sampler, 2, cache_size=1).cache.shape == (2, 1)


def test_score_fn_output_is_checked():
    sampler = UniformSampler(seed=0).fit(_train(), (3, 5))
    cache = NegativeCache(sampler, 3, cache_size=2, num_fresh=2, seed=0)
    src = torch.tensor([0])
    with pytest.raises(ValueError, match="'score_fn' must return scores of"):
        cache.update(src, lambda s, i: torch.zeros(1))
    with pytest.raises(TypeError, match="'score_fn' must return a floating"):
        cache.update(src, lambda s, i: i)
    with pytest.raises(TypeError, match="'score_fn' must return a floating"):
        cache.update(src, lambda s, i: 'scores')
    with pytest.raises(ValueError, match="'score_fn' must return finite"):
        cache.update(src, lambda s, i: torch.full(i.shape, float('nan')))
    with pytest.raises(ValueError, match="'score_fn' must return scores on"):
        cache.update(src, lambda s, i: torch.zeros(i.shape, device='meta'))
    with pytest.raises(TypeError, match="'score_fn' must be callable"):
        cache.update(src, None)


def test_loaded_state_is_checked_for_positives():
    sampler = UniformSampler(seed=0).fit(_train(), (3, 5))
    cache = NegativeCache(sampler, 3, cache_size=2, num_fresh=2, seed=0)
    state = cache.state_dict()
    state['cache'] = torch.tensor([[0, 3], [0, 2], [0, 1]])  # (0, 0) is one
    with pytest.raises(ValueError, match='holds known positives .*source 0'):
        cache.load_state_dict(state)
    state['cache'] = torch.tensor([[3, 3], [0, 2], [0, 5]])
    with pytest.raises(ValueError, match='holds item id 5'):
        cache.load_state_dict(state)


def test_to_moves_the_sampler_along():
    sampler = UniformSampler(seed=0).fit(_train(), (3, 5))
    cache = NegativeCache(sampler, 3, cache_size=2, num_fresh=2, seed=0)
    cache.to('meta')
    assert cache.device == torch.device('meta')
    assert sampler.index().device == torch.device('meta')


class TestNegativeCacheContract(SelectorContract):
    selector_class = NegativeCache
    id_bounds = {'src': 3}
    error_names = {'item_scores': 'score_fn'}
    tensor_inputs = ['src']
    repr_contains = ('num_sources=3', 'cache_size=2', 'num_fresh=3')

    def make(self, **kwargs):
        sampler = UniformSampler(seed=0).fit(_train(), (3, 6))
        return NegativeCache(sampler, 3, cache_size=2, num_fresh=3, **kwargs)

    def inputs(self, device='cpu'):
        return {
            'src': torch.tensor([0, 1, 2, 0], device=device),
            'item_scores': torch.tensor(
                [0.5, 0.1, 0.3, 0.9, 0.2, 0.7], device=device
            ),
        }

    def call(self, selector, src, item_scores):
        selector.update(src, lambda u, v: item_scores[v] * 4)
        return selector.cache.clone(), selector.sample(src, 4)

    def expected_shapes(self, inputs):
        return [(3, 2), (4, 4)]

    def check_outputs(self, selector, inputs, outputs):
        cache, neg = outputs
        positives = _positives()
        for u, row in enumerate(cache.tolist()):
            assert all((u, v) not in positives for v in row)
        for u, row in zip(inputs['src'].tolist(), neg.tolist()):
            assert set(row) <= set(cache[u].tolist())

    def prepare_resume(self, source, target):
        # The fresh candidates come from the sampler's own stream:
        source.sampler.reseed(11)
        target.sampler.reseed(11)

    def bad_calls(self):
        return [
            Bad(
                'src-2d',
                lambda x: {**x, 'src': x['src'].view(2, 2)},
                ValueError,
                "'src' must have 1 dim",
            ),
        ]

    def bad_constructions(self):
        fitted = UniformSampler().fit(_train(), (3, 5))
        return [
            Bad(
                'sampler-none',
                lambda: NegativeCache(None, 3),
                TypeError,
                "'sampler' must be a NegativeSampler",
            ),
            Bad(
                'sampler-unfitted',
                lambda: NegativeCache(UniformSampler(), 3),
                ValueError,
                "'sampler' must be fitted",
            ),
            Bad(
                'sampler-dropping',
                lambda: NegativeCache(
                    UniformSampler(on_unsatisfiable='drop').fit(
                        _train(), (3, 5)
                    ),
                    3,
                ),
                ValueError,
                "'sampler' must be filtered",
            ),
            Bad(
                'sampler-unfiltered',
                lambda: NegativeCache(
                    UniformSampler(filtered=False).fit(_train(), (3, 5)), 3
                ),
                ValueError,
                "'sampler' must be filtered",
            ),
            Bad(
                'num-sources-too-many',
                lambda: NegativeCache(fitted, 4),
                ValueError,
                "'num_sources' must be at most",
            ),
            Bad(
                'num-sources-zero',
                lambda: NegativeCache(fitted, 0),
                ValueError,
                "'num_sources' must be a positive",
            ),
            Bad(
                'cache-size-zero',
                lambda: NegativeCache(fitted, 3, cache_size=0),
                ValueError,
                "'cache_size' must be a positive",
            ),
            Bad(
                'num-fresh-float',
                lambda: NegativeCache(fitted, 3, num_fresh=2.0),
                TypeError,
                "'num_fresh' must be an int",
            ),
            Bad(
                'temperature-zero',
                lambda: NegativeCache(fitted, 3, temperature=0.0),
                ValueError,
                "'temperature' must be positive",
            ),
            Bad(
                'cache-too-large',
                lambda: NegativeCache(fitted, 3, cache_size=2**60),
                ValueError,
                "'cache_size' asks for caches",
            ),
        ]

    def bad_states(self):
        def positive(state):
            cache = state['cache'].clone()
            cache[1, 0] = 1  # (1, 1) is a training pair
            return {**state, 'cache': cache}

        def out_of_range(state):
            cache = state['cache'].clone()
            cache[2, 1] = 6
            return {**state, 'cache': cache}

        def floats(state):
            return {**state, 'cache': state['cache'].double()}

        return [
            Bad('cache-positive', positive, ValueError, 'known positives'),
            Bad('cache-id-6', out_of_range, ValueError, 'item id 6'),
            Bad('cache-floats', floats, ValueError, "'state_dict' entry"),
        ]
