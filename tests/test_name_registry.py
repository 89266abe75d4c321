import pytest

from torch_geometric_negsamp._registry import Registry, normalize_name


def test_names_normalise_one_way():
    assert normalize_name('In-Batch_ Sampler') == 'inbatchsampler'


def test_register_get_and_suffix():
    reg = Registry('widget', suffix='widget')
    reg.register('big-one', 1)

    @reg.register('small')
    def small():
        return 2

    assert reg.get('Big_One') == 1 and reg['SmallWidget'] is small
    assert 'big one' in reg and 'nope' not in reg and 3 not in reg
    assert reg.names() == ['bigone', 'small'] and len(reg) == 2
    assert sorted(reg) == ['bigone', 'small']
    assert "Registry('widget'" in repr(reg)
    with pytest.raises(ValueError, match="'kind' names no known widget"):
        reg.get('nope', 'kind')
    with pytest.raises(TypeError, match="'name' must be a widget name"):
        reg.get(3)
    with pytest.raises(ValueError, match='already registered'):
        reg.register('big_one', 5)
    reg.register('big_one', 1)  # the same object again is fine
    with pytest.raises(TypeError, match="'name' must be a non-empty str"):
        reg.register('', 1)
    assert reg.unregister('small') is small and 'small' not in reg
    with pytest.raises(KeyError):
        reg.unregister('small')


def test_check_refuses_the_wrong_kind():
    def check(obj):
        if not isinstance(obj, int):
            raise TypeError('ints only')

    reg = Registry('number', check=check)
    with pytest.raises(TypeError, match='ints only'):
        reg.register('x', 'y')
