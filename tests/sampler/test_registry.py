import pytest

from torch_geometric_negsamp.sampler import (
    SAMPLERS,
    NegativeSampler,
    PopularitySampler,
    UniformSampler,
    register_sampler,
    resolve_sampler,
)


def test_resolve_by_name_class_and_instance():
    s = resolve_sampler('popularity', amount=3, alpha=0.5)
    assert isinstance(s, PopularitySampler) and s.amount == 3
    assert s.alpha == 0.5
    assert isinstance(resolve_sampler('Uniform-Sampler'), UniformSampler)
    assert isinstance(
        resolve_sampler(UniformSampler, 'binary'), UniformSampler
    )
    inst = UniformSampler()
    assert resolve_sampler(inst) is inst


def test_resolve_errors():
    with pytest.raises(ValueError, match="'query' names no known sampler"):
        resolve_sampler('nope')
    with pytest.raises(TypeError, match="'query' must be a sampler name"):
        resolve_sampler(3)
    with pytest.raises(ValueError, match='arguments cannot be passed'):
        resolve_sampler(UniformSampler(), amount=2)


def test_register():
    @register_sampler('my-test-sampler')
    class Mine(UniformSampler):
        pass

    try:
        assert isinstance(resolve_sampler('my_test_sampler'), Mine)
        with pytest.raises(ValueError, match='already registered'):
            register_sampler('my-test-sampler')(UniformSampler)
    finally:
        SAMPLERS.unregister('my-test-sampler')
    assert 'my-test-sampler' not in SAMPLERS
    with pytest.raises(TypeError, match='needs a NegativeSampler subclass'):
        register_sampler('x')(int)
    assert issubclass(Mine, NegativeSampler)
