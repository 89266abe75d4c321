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


class _Base:
    def __init__(self, size=1):
        self.size = size


class _Child(_Base):
    pass


def test_base_class_is_checked_and_resolved():
    reg = Registry('widget', suffix='widget', base=_Base)
    reg.register('child', _Child)
    with pytest.raises(TypeError, match='must be a _Base subclass'):
        reg.register('number', int)
    made = reg.resolve('ChildWidget', 3)
    assert isinstance(made, _Child) and made.size == 3
    assert reg.resolve(_Base, size=2).size == 2  # a class, registered or not
    assert reg.resolve(made) is made
    with pytest.raises(ValueError, match='arguments cannot be passed'):
        reg.resolve(made, 4)
    with pytest.raises(ValueError, match="'query' names no known widget"):
        reg.resolve('nope')
    with pytest.raises(TypeError, match="'query' must be a widget name"):
        reg.resolve(3)
    with pytest.raises(TypeError, match='has no base class'):
        Registry('thing').resolve('x')
