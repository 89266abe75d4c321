import pytest
import torch

from torch_geometric_negsamp import UniformSampler
from torch_geometric_negsamp.select import (
    DNS,
    NegativeCache,
    Selector,
    SoftmaxSelector,
)


class _Plain(Selector):
    pass


class _Random(Selector):
    stochastic = True


def test_a_selector_that_draws_nothing_takes_no_seed():
    with pytest.raises(ValueError, match='draws nothing at random'):
        _Plain(seed=0)
    assert _Plain().get_generator() is None and _Plain().device is None
    assert _Random(seed=0).get_generator().initial_seed() == 0
    assert _Random().get_generator() is None  # the global generator


def test_state_dict_carries_the_generator_or_its_absence():
    seeded, unseeded = SoftmaxSelector(seed=3), SoftmaxSelector()
    scores = torch.randn(4, 5)
    seeded(scores)
    unseeded.load_state_dict(seeded.state_dict())
    assert torch.equal(unseeded(scores)[0], seeded(scores)[0])
    seeded.load_state_dict(SoftmaxSelector().state_dict())
    assert seeded.get_generator() is None


def test_a_foreign_state_dict_is_refused():
    with pytest.raises(ValueError, match='draws nothing at random'):
        DNS().load_state_dict(SoftmaxSelector(seed=0).state_dict())


def test_selectors_nest_in_a_model_and_load_atomically():
    sampler = UniformSampler(seed=0).fit(
        torch.tensor([[0, 1, 2], [0, 1, 2]]), (3, 4)
    )
    model = torch.nn.Module()
    model.cache = NegativeCache(sampler, 3, cache_size=2, seed=0)
    model.select = SoftmaxSelector(seed=1)
    state = model.state_dict()
    assert set(state) == {
        'cache.cache',
        'cache._extra_state',
        'select._extra_state',
    }
    other = torch.nn.Module()
    other.cache = NegativeCache(sampler, 3, cache_size=2, seed=5)
    other.select = SoftmaxSelector(seed=6)
    other.load_state_dict(state)
    assert torch.equal(other.cache.cache, model.cache.cache)
    before = other.cache.cache.clone()
    bad = dict(state)
    bad['cache.cache'] = torch.full((3, 2), 9)
    with pytest.raises(ValueError, match='holds item id 9'):
        other.load_state_dict(bad)
    assert torch.equal(other.cache.cache, before)
