import pytest

from torch_geometric_negsamp._registry import Registry
from torch_geometric_negsamp.kg import (
    CORRUPTIONS,
    BernoulliCorruption,
    TripleCorruption,
    UniformCorruption,
    register_corruption,
    resolve_corruption,
)


def test_names_resolve_to_kg_corruptions():
    assert CORRUPTIONS.names() == ['bernoulli', 'sans', 'uniform']
    c = resolve_corruption('bernoulli', num_neg=3, seed=1)
    assert isinstance(c, BernoulliCorruption) and c.num_neg == 3
    assert c.seed == 1
    u = resolve_corruption('Uniform-Corruption', 2, corrupt='head')
    assert isinstance(u, UniformCorruption) and u.corrupt == 'head'
    assert isinstance(resolve_corruption(UniformCorruption), UniformCorruption)
    assert resolve_corruption(u) is u


def test_resolve_errors():
    with pytest.raises(ValueError, match="'query' names no known corruption"):
        resolve_corruption('popularity')
    with pytest.raises(TypeError, match="'query' must be a corruption name"):
        resolve_corruption(3)
    with pytest.raises(ValueError, match='arguments cannot be passed'):
        resolve_corruption(UniformCorruption(), num_neg=2)
    with pytest.raises(TypeError, match='has no base class'):
        Registry('thing').resolve('x')


def test_register_and_unregister():
    @register_corruption('my-test-corruption')
    class Mine(UniformCorruption):
        pass

    try:
        assert isinstance(resolve_corruption('my_test_corruption'), Mine)
        with pytest.raises(ValueError, match='already registered'):
            register_corruption('my-test-corruption')(BernoulliCorruption)
    finally:
        CORRUPTIONS.unregister('my-test-corruption')
    assert 'my-test-corruption' not in CORRUPTIONS
    with pytest.raises(TypeError, match='must be a TripleCorruption sub'):
        register_corruption('x')(int)
    assert issubclass(Mine, TripleCorruption)
